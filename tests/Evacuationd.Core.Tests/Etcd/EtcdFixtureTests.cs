using System.Diagnostics;
using System.Net.Sockets;
using dotnet_etcd;
using Etcdserverpb;
using Evacuationd.Testing.Etcd;
using Grpc.Core;
using Xunit.Abstractions;

namespace Evacuationd.Core.Tests.Etcd;

/// <summary>Self-tests of the etcd test fixture: one shared member.</summary>
public sealed class EtcdFixtureSingleTests(EtcdSingleFixture etcd, ITestOutputHelper output) : IClassFixture<EtcdSingleFixture>
{
    [Fact]
    public async Task ASingleMemberAnswersPutAndRange()
    {
        output.WriteLine($"etcd {etcd.Endpoints.Source} at {etcd.ClientUrls}: ready (first RPC answered; a started member also elected itself) after {etcd.Endpoints.StartupTime.TotalMilliseconds:F0} ms");
        if (etcd.Member is { } m)
        {
            output.WriteLine($"member {m}: first Status answer {m.LastFirstAnswer.TotalMilliseconds:F0} ms, leader known {m.LastStartDuration.TotalMilliseconds:F0} ms");
        }
        var prefix = etcd.NewKeyPrefix();
        Assert.StartsWith("/evacuationd-test/", prefix, StringComparison.Ordinal);
        var kv = etcd.Client.GetConnection().KVClient;

        await kv.PutAsync(new PutRequest { Key = EtcdTestClient.Bytes(prefix + "/a"), Value = EtcdTestClient.Bytes("1") }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
        await kv.PutAsync(new PutRequest { Key = EtcdTestClient.Bytes(prefix + "/b"), Value = EtcdTestClient.Bytes("2") }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
        var key = EtcdTestClient.Bytes(prefix + "/");
        var range = await kv.RangeAsync(new RangeRequest { Key = key, RangeEnd = EtcdTestClient.PrefixEnd(key) }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));

        Assert.Equal([prefix + "/a", prefix + "/b"], range.Kvs.Select(k => k.Key.ToStringUtf8()));
        Assert.Equal(["1", "2"], range.Kvs.Select(k => k.Value.ToStringUtf8()));
    }

    [Fact]
    public void KeyPrefixesAreFreshAndDoNotNest()
    {
        var a = etcd.NewKeyPrefix();
        var b = etcd.NewKeyPrefix();
        Assert.NotEqual(a, b);
        Assert.False(b.StartsWith(a, StringComparison.Ordinal));
    }
}

/// <summary>Self-tests of the etcd test fixture: three members, failover.</summary>
public sealed class EtcdFixtureClusterTests(EtcdClusterFixture etcd, ITestOutputHelper output) : IClassFixture<EtcdClusterFixture>
{
    private static readonly TimeSpan Rpc = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task ThreeMembersElectOneLeaderSurviveItsKillAndItRejoins()
    {
        await etcd.Cluster.EnsureAllRunningAsync();
        var cluster = etcd.Cluster;
        output.WriteLine($"3 members ready (same leader everywhere, Range answered) after {cluster.StartupTime.TotalMilliseconds:F0} ms");
        foreach (var m in cluster.Members)
        {
            output.WriteLine($"  {m}: first Status {m.LastFirstAnswer.TotalMilliseconds:F0} ms, leader known {m.LastStartDuration.TotalMilliseconds:F0} ms");
        }

        // exactly one leader, and every member names it
        var statuses = await Task.WhenAll(cluster.Members.Select(m => m.StatusAsync(Rpc)));
        Assert.Single(statuses, s => s.Leader == s.Header.MemberId);
        Assert.Single(statuses.Select(s => s.Leader).Distinct());
        Assert.Equal(3, statuses.Select(s => s.Header.MemberId).Distinct().Count());
        var leader = await cluster.LeaderAsync();
        Assert.NotNull(leader);
        Assert.Equal(statuses[0].Leader, leader.MemberId);

        // kill the leader: one of the other two takes over
        var oldId = leader.MemberId;
        var oldPid = leader.Pid;
        var sw = Stopwatch.StartNew();
        leader.Kill();
        Assert.False(leader.IsRunning);
        var killed = sw.Elapsed;
        var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(15), excluding: leader);
        var elected = sw.Elapsed;
        Assert.NotSame(leader, newLeader);
        Assert.True(newLeader.IsRunning);

        // a put succeeds, retried within a deadline (an attempt may hit the dead member or a stalled proposal)
        var prefix = etcd.NewKeyPrefix();
        var key = EtcdTestClient.Bytes(prefix + "/after-failover");
        var (attempts, putRevision) = await PutWithRetriesAsync(etcd.Client, key, "v1", TimeSpan.FromSeconds(20));
        var written = sw.Elapsed;
        output.WriteLine($"killed leader {leader.Name} (pid {oldPid}) in {killed.TotalMilliseconds:F0} ms; new leader {newLeader.Name} seen after {elected.TotalMilliseconds:F0} ms; put ok after {written.TotalMilliseconds:F0} ms ({attempts} attempt(s), rev {putRevision})");

        // the killed member restarts on its data and rejoins as the same member
        await leader.RestartAsync();
        Assert.True(leader.IsRunning);
        Assert.NotEqual(oldPid, leader.Pid);
        output.WriteLine($"{leader.Name} restarted (pid {leader.Pid}): first Status {leader.LastFirstAnswer.TotalMilliseconds:F0} ms, leader known {leader.LastStartDuration.TotalMilliseconds:F0} ms");
        var status = await leader.StatusAsync(Rpc);
        Assert.Equal(oldId, status.Header.MemberId);
        Assert.Equal(newLeader.MemberId, status.Leader);

        // ... and serves a linearizable read that sees the write made while it was down
        var onRejoined = await leader.Client.GetConnection().KVClient.RangeAsync(new RangeRequest { Key = key }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
        Assert.Equal("v1", Assert.Single(onRejoined.Kvs).Value.ToStringUtf8());
        var members = await leader.Client.GetConnection().ClusterClient.MemberListAsync(new MemberListRequest(), deadline: EtcdTestClient.Deadline(Rpc));
        Assert.Equal(["m1", "m2", "m3"], members.Members.Select(m => m.Name).Order());
    }

    [Fact]
    public async Task AFollowerStoppedWithSigtermRestartsAndCompactionWorks()
    {
        await etcd.Cluster.EnsureAllRunningAsync();
        var cluster = etcd.Cluster;
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        var follower = cluster.Members.First(m => m != leader);

        await follower.StopAsync();
        Assert.False(follower.IsRunning);
        var key = EtcdTestClient.Bytes(etcd.NewKeyPrefix() + "/k");
        var (_, rev1) = await PutWithRetriesAsync(etcd.Client, key, "1", TimeSpan.FromSeconds(10));
        var (_, rev2) = await PutWithRetriesAsync(etcd.Client, key, "2", TimeSpan.FromSeconds(10));
        await follower.RestartAsync();
        Assert.True(follower.IsRunning);

        await cluster.CompactAsync(rev2);
        var kv = etcd.Client.GetConnection().KVClient;
        var old = await Assert.ThrowsAsync<RpcException>(async () =>
            await kv.RangeAsync(new RangeRequest { Key = key, Revision = rev1 }, deadline: EtcdTestClient.Deadline(Rpc)));
        Assert.Equal(StatusCode.OutOfRange, old.StatusCode);
        var now = await follower.Client.GetConnection().KVClient.RangeAsync(new RangeRequest { Key = key }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
        Assert.Equal("2", Assert.Single(now.Kvs).Value.ToStringUtf8());
    }

    /// <summary>Puts until one attempt succeeds; each attempt has its own short deadline, the whole a bound.</summary>
    private static async Task<(int Attempts, long Revision)> PutWithRetriesAsync(EtcdClient client, Google.Protobuf.ByteString key, string value, TimeSpan bound)
    {
        var sw = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var r = await client.GetConnection().KVClient.PutAsync(new PutRequest { Key = key, Value = EtcdTestClient.Bytes(value) }, deadline: EtcdTestClient.Deadline(Rpc));
                return (attempt, r.Header.Revision);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && sw.Elapsed < bound)
            {
                await Task.Delay(50);
            }
        }
    }
}

/// <summary>Self-tests of the etcd discovery: external etcd, restart of a single member, no etcd at all.</summary>
public sealed class EtcdFixtureDiscoveryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AnExternalEtcdIsUsedAsIsAndNotStopped()
    {
        await using var running = await EtcdCluster.StartAsync(1);
        var member = running.Members[0];
        var discovery = new EtcdDiscoveryOptions { GetEnvironmentVariable = Env((EtcdEndpoints.EnvironmentVariable, member.ClientUrl)) };

        var endpoints = await EtcdEndpoints.AcquireAsync(discovery: discovery);
        Assert.Equal(EtcdSource.External, endpoints.Source);
        Assert.Equal(member.ClientUrl, endpoints.ClientUrls);
        Assert.Null(endpoints.Cluster);
        using (var client = endpoints.CreateClient())
        {
            await client.GetConnection().KVClient.PutAsync(new PutRequest { Key = EtcdTestClient.Bytes(EtcdKeyPrefix.New() + "/x"), Value = EtcdTestClient.Bytes("y") }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
        }
        await endpoints.DisposeAsync();

        Assert.True(member.IsRunning);
        var status = await member.StatusAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(member.MemberId, status.Header.MemberId);
    }

    [Fact]
    public async Task AnExternalEtcdWithoutSchemeGetsHttpAndADeadOneFailsClearly()
    {
        await using var running = await EtcdCluster.StartAsync(1);
        var member = running.Members[0];
        await using (var endpoints = await EtcdEndpoints.AcquireAsync(discovery: new EtcdDiscoveryOptions
        {
            GetEnvironmentVariable = Env((EtcdEndpoints.EnvironmentVariable, $" 127.0.0.1:{member.ClientPort} ")),
        }))
        {
            Assert.Equal(member.ClientUrl, endpoints.ClientUrls);
        }

        var dead = EtcdClusterPorts.OneFree();
        var e = await Assert.ThrowsAsync<EtcdUnavailableException>(() => EtcdEndpoints.AcquireAsync(discovery: new EtcdDiscoveryOptions
        {
            GetEnvironmentVariable = Env((EtcdEndpoints.EnvironmentVariable, $"http://127.0.0.1:{dead}")),
            ExternalProbeTimeout = TimeSpan.FromMilliseconds(500),
        }));
        Assert.Contains("does not answer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASingleMemberRestartsOnItsData()
    {
        await using var cluster = await EtcdCluster.StartAsync(1);
        var member = cluster.Members[0];
        output.WriteLine($"single member: first Status {member.LastFirstAnswer.TotalMilliseconds:F0} ms, leader known {member.LastStartDuration.TotalMilliseconds:F0} ms, ready (Range) {cluster.StartupTime.TotalMilliseconds:F0} ms");
        var key = EtcdTestClient.Bytes(EtcdKeyPrefix.New() + "/k");
        await cluster.Client.GetConnection().KVClient.PutAsync(new PutRequest { Key = key, Value = EtcdTestClient.Bytes("kept") }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
        var id = member.MemberId;

        member.Kill();
        Assert.False(member.IsRunning);
        await member.RestartAsync();

        output.WriteLine($"single member restart: first Status {member.LastFirstAnswer.TotalMilliseconds:F0} ms, leader known {member.LastStartDuration.TotalMilliseconds:F0} ms");
        Assert.Equal(id, member.MemberId);
        Assert.Equal(2, member.Starts);
        var r = await member.Client.GetConnection().KVClient.RangeAsync(new RangeRequest { Key = key }, deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(5)));
        Assert.Equal("kept", Assert.Single(r.Kvs).Value.ToStringUtf8());
        await Assert.ThrowsAsync<InvalidOperationException>(() => member.RestartAsync());
    }

    [Fact]
    public async Task DisposingKillsTheProcessesAndDeletesTheFolder()
    {
        var cluster = await EtcdCluster.StartAsync(1);
        var member = cluster.Members[0];
        using var process = Process.GetProcessById(member.Pid);
        Assert.True(Directory.Exists(cluster.BaseDirectory));

        await cluster.DisposeAsync();

        Assert.True(process.WaitForExit(5000));
        Assert.False(member.IsRunning);
        if (Environment.GetEnvironmentVariable(EtcdCluster.KeepVariable) != "1")
        {
            Assert.False(Directory.Exists(cluster.BaseDirectory));
        }
    }

    [Fact]
    public async Task AMemberThatExitsFailsFastWithItsOutput()
    {
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<EtcdStartException>(() =>
            EtcdCluster.StartAsync(1, EtcdClusterOptions.Default with { ExtraArguments = ["--no-such-flag"] }));

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        Assert.Contains("exited with code", e.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-flag", e.Message, StringComparison.Ordinal); // etcd's complaint, from its stderr file
    }

    [Theory]
    [InlineData("true", "etcd is required under CI=true: install etcd-server (scripts/test.sh does) or set EVACUATIOND_TEST_ETCD")]
    [InlineData(null, "etcd is required: install etcd-server (scripts/test.sh does) or set EVACUATIOND_TEST_ETCD")]
    public async Task WithoutAnyEtcdTheFixtureFailsWithTheMessage(string? ci, string expected)
    {
        var discovery = new EtcdDiscoveryOptions
        {
            GetEnvironmentVariable = Env(("CI", ci), ("PATH", "/nonexistent")),
            FallbackBinaryPaths = [],
            DockerSocketPath = "/nonexistent/docker.sock",
        };
        Assert.Null(EtcdEndpoints.FindBinary(discovery));

        var e = await Assert.ThrowsAsync<EtcdUnavailableException>(() => EtcdEndpoints.AcquireAsync(discovery: discovery));

        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("no Docker engine is reachable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReachableDockerEngineIsReportedAsNotWired()
    {
        var dir = Directory.CreateTempSubdirectory("evacuationd-docker-");
        try
        {
            var path = Path.Combine(dir.FullName, "docker.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            var discovery = new EtcdDiscoveryOptions
            {
                GetEnvironmentVariable = Env(("CI", "true"), ("PATH", "")),
                FallbackBinaryPaths = [],
                DockerSocketPath = path,
            };
            Assert.True(EtcdEndpoints.IsDockerReachable(discovery));

            var e = await Assert.ThrowsAsync<EtcdUnavailableException>(() => EtcdEndpoints.AcquireAsync(discovery: discovery));

            Assert.StartsWith("etcd is required under CI=true", e.Message, StringComparison.Ordinal);
            Assert.Contains("a Docker engine is reachable, but the container path (Testcontainers) is not wired", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AMissedDeadlineIsAnRpcExceptionNotACancellation()
    {
        // a listener that accepts connections and never answers (like etcd before it serves)
        var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
            using var client = EtcdTestClient.Create($"http://127.0.0.1:{port}");
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await client.GetConnection().MaintenanceClient.StatusAsync(new StatusRequest(), deadline: EtcdTestClient.Deadline(TimeSpan.FromMilliseconds(300))));
            Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        }
        finally
        {
            silent.Stop();
        }
    }

    /// <summary>An environment with only the given variables set.</summary>
    private static Func<string, string?> Env(params (string Name, string? Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;
}

internal static class EtcdClusterPorts
{
    public static int OneFree()
    {
        using var l = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)l.LocalEndPoint!).Port;
    }
}
