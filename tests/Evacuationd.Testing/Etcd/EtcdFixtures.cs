using System.Collections.Concurrent;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;

namespace Evacuationd.Testing.Etcd;

/// <summary>Fresh key prefixes so tests can share one etcd without seeing each other's keys.</summary>
public static class EtcdKeyPrefix
{
    /// <summary>Every test prefix lives under this one.</summary>
    public const string Root = "/evacuationd-test";

    /// <summary>A prefix no other test uses: <c>/evacuationd-test/{guid:N}</c> (no trailing slash).</summary>
    public static string New() => $"{Root}/{Guid.NewGuid():N}";

    /// <summary>Deletes every key under each of <paramref name="prefixes"/> (best effort: errors are ignored).</summary>
    public static async Task DeleteAsync(EtcdClient client, IEnumerable<string> prefixes)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(prefixes);
        foreach (var prefix in prefixes)
        {
            var key = EtcdTestClient.Bytes(prefix);
            try
            {
                await client.GetConnection().KVClient.DeleteRangeAsync(
                    new DeleteRangeRequest { Key = key, RangeEnd = EtcdTestClient.PrefixEnd(key) },
                    deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
            }
            catch (RpcException)
            {
                // the etcd is someone else's: leftovers under /evacuationd-test are harmless
            }
        }
    }
}

/// <summary>
/// One etcd shared by the tests of a class (<c>IClassFixture&lt;EtcdSingleFixture&gt;</c>):
/// env EVACUATIOND_TEST_ETCD when set, else one member started from the local binary.
/// Fails (never skips) when no etcd can be had. Give each test its own <see cref="NewKeyPrefix"/>.
/// </summary>
public sealed class EtcdSingleFixture : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _prefixes = new();
    private EtcdEndpoints? _endpoints;
    private EtcdClient? _client;

    public EtcdEndpoints Endpoints => _endpoints ?? throw new InvalidOperationException("fixture not initialized");

    /// <summary>Comma-separated client URLs.</summary>
    public string ClientUrls => Endpoints.ClientUrls;

    /// <summary>A client shared by the tests of the class (no retries).</summary>
    public EtcdClient Client => _client ?? throw new InvalidOperationException("fixture not initialized");

    /// <summary>The member started for the class; null when the etcd is external.</summary>
    public EtcdMember? Member => Endpoints.Cluster?.Members[0];

    /// <summary>
    /// A fresh isolated key prefix (<c>/evacuationd-test/{guid:N}</c>). On an external etcd the
    /// keys under every prefix handed out are deleted when the fixture is disposed.
    /// </summary>
    public string NewKeyPrefix()
    {
        var prefix = EtcdKeyPrefix.New();
        _prefixes.Enqueue(prefix);
        return prefix;
    }

    public async Task InitializeAsync()
    {
        _endpoints = await EtcdEndpoints.AcquireAsync();
        _client = _endpoints.CreateClient();
    }

    public async Task DisposeAsync()
    {
        if (_client is not null && _endpoints?.Source == EtcdSource.External)
        {
            await EtcdKeyPrefix.DeleteAsync(_client, _prefixes);
        }
        _client?.Dispose();
        if (_endpoints is not null)
        {
            await _endpoints.DisposeAsync();
        }
    }
}

/// <summary>
/// Three etcd members (m1..m3) started from the local binary for a test class
/// (<c>IClassFixture&lt;EtcdClusterFixture&gt;</c>), with short raft timings for failover tests.
/// An external etcd cannot be used here (tests kill and restart members). A test that kills
/// members should end with <see cref="EtcdCluster.EnsureAllRunningAsync"/> (or start with it).
/// </summary>
public sealed class EtcdClusterFixture : IAsyncLifetime
{
    private EtcdCluster? _cluster;

    public EtcdCluster Cluster => _cluster ?? throw new InvalidOperationException("fixture not initialized");

    /// <summary>Comma-separated client URLs of all three members.</summary>
    public string ClientUrls => Cluster.ClientUrls;

    /// <summary>A client over all members, shared by the tests of the class (no retries).</summary>
    public EtcdClient Client => Cluster.Client;

    /// <summary>A fresh isolated key prefix (<c>/evacuationd-test/{guid:N}</c>).</summary>
#pragma warning disable CA1822 // an instance method, like the single fixture's
    public string NewKeyPrefix() => EtcdKeyPrefix.New();
#pragma warning restore CA1822

    public async Task InitializeAsync() => _cluster = await EtcdCluster.StartAsync(3);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
