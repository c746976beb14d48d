using System.Text.Json;
using System.Text.Json.Serialization;
using dotnet_etcd;
using Etcdserverpb;
using Evacuationd.Core.Records;
using Evacuationd.Testing.Etcd;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;

namespace Evacuationd.Chaos;

/// <summary>One key change in etcd (a put with its lease, or a delete).</summary>
internal sealed record Mutation(string Key, bool Put, byte[] Value, long Lease);

/// <summary>Every change of one etcd revision (one transaction), and when the harness saw it.</summary>
internal sealed record Revision(long Number, IReadOnlyList<Mutation> Changes, DateTimeOffset Seen);

/// <summary>A key's value as of some revision.</summary>
internal sealed record KeyState(byte[] Value, long Lease, long ModRevision);

/// <summary>
/// The daemons' etcd keys (src/Evacuationd.Etcd/KeySchema.cs documents them) and how their
/// values read (RecordCodec: camelCase JSON, enums by name).
/// </summary>
internal static class Keys
{
    public const string Prefix = "/evacuationd";
    public const string Hosts = Prefix + "/hosts/";
    public const string Instances = Prefix + "/instances/";
    public const string HostOwners = Prefix + "/owners/hosts/";
    public const string InstanceOwners = Prefix + "/owners/instances/";
    public const string Daemons = Prefix + "/daemons/";
    public const string Control = Prefix + "/control/state";

    /// <summary>The daemons' record encoding (tests write histories with it).</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    public static HostRecord Host(byte[] value) => JsonSerializer.Deserialize<HostRecord>(value, Json)!;

    public static InstanceRecord Instance(byte[] value) => JsonSerializer.Deserialize<InstanceRecord>(value, Json)!;

    public static ControlState ControlState(byte[] value) => JsonSerializer.Deserialize<ControlState>(value, Json)!;

    public static string Text(byte[] value) => System.Text.Encoding.UTF8.GetString(value);

    /// <summary>The owner key of a record key (host or instance), or null for other keys.</summary>
    public static string? OwnerOf(string key) =>
        key.StartsWith(Hosts, StringComparison.Ordinal) ? HostOwners + key[Hosts.Length..]
        : key.StartsWith(Instances, StringComparison.Ordinal) ? InstanceOwners + key[Instances.Length..]
        : null;
}

/// <summary>
/// Watches every key of the installation from revision 1 for the whole run (etcd keeps its
/// history: nothing compacts it during a run), keeps each revision with the time it arrived,
/// and the current value of every key. The invariant checks replay the revisions; the
/// harness asks the current state (owners, held hosts, pending records) while it runs.
/// A broken watch (member killed, leader change) resumes from the next revision.
/// </summary>
internal sealed class StoreRecorder : IAsyncDisposable
{
    private readonly EtcdClient _client;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly List<Revision> _revisions = [];
    private readonly Dictionary<string, KeyState> _current = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private long _next = 1;
    private Task _loop = Task.CompletedTask;

    public StoreRecorder(string clientUrls, TimeProvider time)
    {
        _time = time;
        _client = new EtcdClient(clientUrls, configureChannelOptions: o =>
        {
            EtcdTestClient.ConfigureChannel(o);
            o.MaxReceiveMessageSize = 512 * 1024 * 1024; // a replay of the whole history comes in large batches
        });
    }

    /// <summary>Watch reopenings (each after a broken stream).</summary>
    public int Reopened { get; private set; }

    /// <summary>Why the watch stopped for good (compacted history), or null.</summary>
    public Exception? Failure { get; private set; }

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    /// <summary>Every revision seen so far, oldest first.</summary>
    public IReadOnlyList<Revision> Revisions
    {
        get { lock (_gate) { return _revisions.ToList(); } }
    }

    /// <summary>The newest revision applied.</summary>
    public long Applied
    {
        get { lock (_gate) { return _next - 1; } }
    }

    /// <summary>Current values of the keys under <paramref name="prefix"/>.</summary>
    public IReadOnlyList<(string Key, KeyState State)> Under(string prefix)
    {
        lock (_gate)
        {
            return _current.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(kv => (kv.Key, kv.Value)).ToList();
        }
    }

    public KeyState? Get(string key)
    {
        lock (_gate)
        {
            return _current.GetValueOrDefault(key);
        }
    }

    /// <summary>Waits until every revision etcd has now was applied here.</summary>
    public async Task CatchUpAsync(TimeSpan timeout)
    {
        var head = await HeadAsync(timeout);
        var until = DateTime.UtcNow + timeout;
        while (Applied < head)
        {
            if (Failure is not null)
            {
                throw new InvalidOperationException("the etcd watch failed: " + Failure.Message, Failure);
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the etcd watch did not reach revision {head} (at {Applied}) within {timeout}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>etcd's current revision (a linearizable read).</summary>
    public async Task<long> HeadAsync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                var r = await _client.GetConnection().KVClient.RangeAsync(
                    new RangeRequest { Key = ByteString.CopyFromUtf8(Keys.Prefix + "/"), RangeEnd = EtcdTestClient.PrefixEnd(ByteString.CopyFromUtf8(Keys.Prefix + "/")), CountOnly = true },
                    deadline: DateTime.UtcNow.AddSeconds(5));
                return r.Header.Revision;
            }
            catch (RpcException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(500);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var prefix = ByteString.CopyFromUtf8(Keys.Prefix + "/");
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var call = _client.GetConnection().WatchClient.Watch(cancellationToken: ct);
                long start;
                lock (_gate)
                {
                    start = _next;
                }
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest { Key = prefix, RangeEnd = EtcdTestClient.PrefixEnd(prefix), StartRevision = start, ProgressNotify = true },
                }, ct);
                while (await call.ResponseStream.MoveNext(ct))
                {
                    var response = call.ResponseStream.Current;
                    if (response.CompactRevision > 0)
                    {
                        throw new InvalidOperationException($"etcd compacted its history to {response.CompactRevision}: the run cannot be checked");
                    }
                    if (response.Canceled)
                    {
                        break;
                    }
                    Apply(response.Events);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException && ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException)
            {
            }
            catch (InvalidOperationException e)
            {
                Failure = e;
                return;
            }
            Reopened++;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Applies one response's events, revision by revision (etcd never splits a revision over responses).</summary>
    private void Apply(IEnumerable<Event> events)
    {
        var seen = _time.GetUtcNow();
        lock (_gate)
        {
            foreach (var group in events.GroupBy(e => e.Kv.ModRevision).OrderBy(g => g.Key))
            {
                if (group.Key < _next)
                {
                    continue; // a reopened watch repeats nothing we have, but be sure
                }
                var changes = group.Select(e => new Mutation(e.Kv.Key.ToStringUtf8(), e.Type == Event.Types.EventType.Put, e.Kv.Value.ToByteArray(), e.Kv.Lease)).ToList();
                foreach (var c in changes)
                {
                    if (c.Put)
                    {
                        _current[c.Key] = new KeyState(c.Value, c.Lease, group.Key);
                    }
                    else
                    {
                        _current.Remove(c.Key);
                    }
                }
                _revisions.Add(new Revision(group.Key, changes, seen));
                _next = group.Key + 1;
            }
        }
    }
}
