using System.Text;
using Evacuationd.Core.Store;
using Google.Protobuf;

namespace Evacuationd.Etcd;

/// <summary>
/// Every key evacuationd keeps in etcd, in one place. All live under <c>Etcd:Prefix</c>
/// (default <c>/evacuationd</c>, written {p} below); values are UTF-8 JSON unless noted.
/// <list type="table">
/// <item><term>{p}/hosts/{host}</term><description>The host's latest fencing (HostRecord). No
/// lease. Kept for good: one per host ever fenced, it carries the fence generation.</description></item>
/// <item><term>{p}/instances/{host}:{gen}:{uuid}</term><description>One instance's evacuation
/// record (InstanceRecord); the key ends with the record id, so a host's records and a
/// fencing's records are each one prefix. No lease. Deleted by the retention sweep
/// (Engine:Retention after it ended), never before it is terminal and unowned.</description></item>
/// <item><term>{p}/owners/hosts/{host}</term><description>Owner of a host fencing: the owning
/// daemon's id as plain text, bound to that daemon's lease, so it disappears when the lease
/// ends (expiry, revoke). Every owned write compares its value AND its lease (S3).</description></item>
/// <item><term>{p}/owners/instances/{id}</term><description>Owner of an instance record; as above.</description></item>
/// <item><term>{p}/daemons/{daemon}</term><description>A live daemon (DaemonInfo), bound to its
/// lease: listed exactly while the lease lives.</description></item>
/// <item><term>{p}/control/state</term><description>The global switches (ControlState: the
/// global hold and the fencings of the blast-radius window). No lease. Changed only by
/// compare-and-swap; a fence report that opens a fencing writes it with the host record.</description></item>
/// <item><term>{p}/requests/{id}</term><description>An operator's pending request (retry,
/// cancel) for an instance record (OperatorRequest). No lease. Deleted by the daemon that
/// applied it (a newer request at a later revision stays).</description></item>
/// <item><term>{p}/slots/{n}</term><description>In-flight slot n (0 &lt;= n &lt; Policy limit):
/// the id of the record holding it, bound to its owner's lease. Taken and freed in the same
/// transactions as the record's writes.</description></item>
/// </list>
/// </summary>
internal sealed class KeySchema
{
    private const string Hosts = "/hosts/";
    private const string Instances = "/instances/";
    private const string HostOwners = "/owners/hosts/";
    private const string InstanceOwners = "/owners/instances/";
    private const string Daemons = "/daemons/";
    private const string ControlKey = "/control/state";
    private const string Requests = "/requests/";
    private const string Slots = "/slots/";

    public KeySchema(string prefix)
    {
        Prefix = prefix.TrimEnd('/');
        All = Key("/");
    }

    public string Prefix { get; }

    /// <summary>Everything of this installation.</summary>
    public ByteString All { get; }

    public ByteString Host(string host) => Key(Hosts + host);

    public ByteString HostsPrefix => Key(Hosts);

    public ByteString Instance(string id) => Key(Instances + id);

    /// <summary>Every record, a host's records, or one fencing's records.</summary>
    public ByteString InstancesPrefix(string? host = null, long generation = 0) =>
        Key(Instances + (host is null ? "" : generation == 0 ? $"{host}:" : $"{host}:{generation}:"));

    public ByteString Owner(RecordKey key) => Key((key.Kind == RecordKind.Host ? HostOwners : InstanceOwners) + key.Id);

    public ByteString Daemon(string id) => Key(Daemons + id);

    public ByteString DaemonsPrefix => Key(Daemons);

    public ByteString Control => Key(ControlKey);

    public ByteString Request(string recordId) => Key(Requests + recordId);

    public ByteString Slot(int n) => Key(Slots + n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>What a key of this installation names.</summary>
    public ParsedKey Parse(ByteString key)
    {
        var k = key.ToStringUtf8();
        if (!k.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return new ParsedKey(KeyKind.Unknown, "");
        }
        var rest = k[Prefix.Length..];
        return rest switch
        {
            _ when rest.StartsWith(Hosts, StringComparison.Ordinal) => new(KeyKind.Host, rest[Hosts.Length..]),
            _ when rest.StartsWith(Instances, StringComparison.Ordinal) => new(KeyKind.Instance, rest[Instances.Length..]),
            _ when rest.StartsWith(HostOwners, StringComparison.Ordinal) => new(KeyKind.HostOwner, rest[HostOwners.Length..]),
            _ when rest.StartsWith(InstanceOwners, StringComparison.Ordinal) => new(KeyKind.InstanceOwner, rest[InstanceOwners.Length..]),
            _ when rest.StartsWith(Daemons, StringComparison.Ordinal) => new(KeyKind.Daemon, rest[Daemons.Length..]),
            _ when rest == ControlKey => new(KeyKind.Control, ""),
            _ when rest.StartsWith(Requests, StringComparison.Ordinal) => new(KeyKind.Request, rest[Requests.Length..]),
            _ when rest.StartsWith(Slots, StringComparison.Ordinal) => new(KeyKind.Slot, rest[Slots.Length..]),
            _ => new(KeyKind.Unknown, rest),
        };
    }

    /// <summary>The end of the range of keys starting with <paramref name="prefix"/> (etcd's range_end).</summary>
    public static ByteString RangeEnd(ByteString prefix)
    {
        var bytes = prefix.ToByteArray();
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0);
    }

    private ByteString Key(string suffix) => ByteString.CopyFrom(Encoding.UTF8.GetBytes(Prefix + suffix));
}

internal enum KeyKind
{
    Unknown,
    Host,
    Instance,
    HostOwner,
    InstanceOwner,
    Daemon,
    Control,
    Request,
    Slot,
}

internal readonly record struct ParsedKey(KeyKind Kind, string Id);
