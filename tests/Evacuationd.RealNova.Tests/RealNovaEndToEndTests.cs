using Evacuationd.Contracts.V1;
using Evacuationd.RealNova.Tests.Support;
using Evacuationd.Testing.Etcd;
using Grpc.Core;
using Record = Evacuationd.Contracts.V1.Record;

namespace Evacuationd.RealNova.Tests;

/// <summary>
/// The whole product against the real Nova: three <c>evacuationd serve</c> processes on one
/// real etcd, Nova found through clouds.yaml (Keystone v3 password login), a host whose
/// nova-compute is killed and whose fencing is reported; then the host comes back through the
/// agent's start gate and release. Nova's own servers and migrations are the judge.
/// </summary>
[Trait("Category", "RealNova")]
public sealed class RealNovaEndToEndTests(EtcdSingleFixture etcd) : IClassFixture<EtcdSingleFixture>, IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(180);

    private readonly RealNovaCloud _nova = RealNovaCloud.Current;
    private readonly List<ServedDaemon> _daemons = [];
    private readonly NovaAdmin _admin = new(RealNovaCloud.Current);
    private string _dir = null!;
    private string? _host;

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("evacuationd-real-nova-").FullName;
        File.Copy(_nova.CloudsYaml, Path.Combine(_dir, "clouds.yaml"));
        var prefix = etcd.NewKeyPrefix();
        string[] settings =
        [
            $"--Etcd:Endpoints={etcd.ClientUrls}", $"--Etcd:Prefix={prefix}", $"--Nova:Cloud={RealNovaCloud.CloudName}",
            "--Engine:LeaseTtl=00:00:05", "--Engine:KeepAliveInterval=00:00:01", "--Engine:Workflow:PollInterval=00:00:01",
        ];
        _daemons.AddRange(await Task.WhenAll(Enumerable.Range(1, 3).Select(i => ServedDaemon.StartAsync($"nova-e2e-{i}", _dir, settings))));
    }

    public async Task DisposeAsync()
    {
        foreach (var d in _daemons)
        {
            await d.DisposeAsync();
        }
        if (_host is not null)
        {
            HostPool.Return(_host);
        }
        Directory.Delete(_dir, recursive: true);
    }

    public void Dispose() => _admin.Dispose();

    [Fact]
    public async Task AFencedHostIsEvacuatedOnceToTheEndAndComesBackThroughTheGate()
    {
        var host = await TakeHostAsync();
        var servers = await _admin.BootAsync(host, 6, "e2e-" + Guid.NewGuid().ToString("N")[..6]);
        await KillAsync(host);

        var fenced = await new Fencing.FencingClient(_daemons[0].Channel).ReportFencedAsync(new ReportFencedRequest { Host = host, Reporter = "real-nova-e2e" });
        var records = await UntilTerminalAsync(host, servers.Count);

        Assert.Equal(FenceOutcome.Created, fenced.Outcome);
        Assert.All(records, r => Assert.True(r.State == RecordState.Done, $"{r.Id}: {r.StateName} {r.Reason} {r.Error}"));
        await AssertEvacuatedOnceAsync(host, servers, "done");

        // The host comes back: its gate (nova-compute's ExecStartPre) opens now that the fencing
        // ended; nova-compute starts and cleans up; the agent's run loop asks for the release.
        var gate = await AgentProcess.RunAsync(Agent(host, "gate", "--wait", "60s", "--poll", "500ms"));
        Assert.True(gate.ExitCode == 0, gate.ToString());
        await _nova.StartComputeAsync(host);
        HostPool.MarkAlive(host);
        using var stop = new CancellationTokenSource(Budget);
        var run = AgentProcess.RunAsync(Agent(host, "run", "--interval", "1s", "--release", "auto"), stop.Token);
        var released = await UntilAsync(async () =>
        {
            var h = await Operator(0).GetHostAsync(new HostRequest { Host = host });
            return h.State == HostState.Released ? h : null;
        }, "the host to be released");
        await stop.CancelAsync();
        var loop = await run;

        var service = await _admin.ServiceAsync(host);
        Assert.False(service.ForcedDown, $"{host}: {service}\n{loop}");
        Assert.True(service.Enabled, $"{host}: {service}\n{loop}");
        // "up" is Nova's view of the restarted nova-compute's heartbeat (every 10 s): it follows.
        await UntilAsync(async () => (await _admin.ServiceAsync(host)).Up ? service : null, $"{host}'s nova-compute to be up");
        await AssertEvacuatedOnceAsync(host, servers, "completed");
        Assert.Equal(HostState.Released, released.State);
    }

    [Fact]
    public async Task WhenTheDaemonOwningInFlightEvacuationsIsKilledAnotherFinishesThemOnce()
    {
        var host = await TakeHostAsync();
        var servers = await _admin.BootAsync(host, 10, "e2e-" + Guid.NewGuid().ToString("N")[..6]);
        await KillAsync(host);
        var watch = Operator(1).WatchRecords(new WatchRecordsRequest { Host = host });

        await new Fencing.FencingClient(_daemons[1].Channel).ReportFencedAsync(new ReportFencedRequest { Host = host, Reporter = "real-nova-e2e" });
        // Midway: the first record with an evacuate call in flight names the daemon to kill.
        var inFlight = await FirstInFlightAsync(watch);
        var victim = _daemons.Single(d => d.Id == inFlight.Owner);
        await victim.KillAsync();
        var records = await UntilTerminalAsync(host, servers.Count, _daemons.First(d => d != victim));

        Assert.All(records, r => Assert.True(r.State == RecordState.Done, $"{r.Id}: {r.StateName} {r.Reason} {r.Error}"));
        var finished = records.Single(r => r.Id == inFlight.Id);
        Assert.NotEqual(victim.Id, finished.History.Last().Daemon); // a successor completed it
        await AssertEvacuatedOnceAsync(host, servers, "done");
    }

    /// <summary>Each server ACTIVE on another host, with exactly one evacuation migration, in <paramref name="status"/>.</summary>
    private async Task AssertEvacuatedOnceAsync(string host, IReadOnlyList<NovaServer> servers, string status)
    {
        var now = (await _admin.ServersAsync()).ToDictionary(s => s.Id);
        var migrations = (await _admin.EvacuationsFromAsync(host)).ToLookup(m => m.InstanceUuid);
        foreach (var s in servers)
        {
            var after = now[s.Id];
            Assert.True(after.Status == "ACTIVE" && after.TaskState is null && after.Host != host, $"{s.Id}: {after}");
            var mine = migrations[s.Id].ToList();
            Assert.True(mine.Count == 1, $"{s.Id}: {mine.Count} evacuation migrations: {string.Join(", ", mine)}");
            Assert.Equal(status, mine[0].Status);
            Assert.Equal(after.Host, mine[0].DestCompute);
        }
    }

    private async Task<string> TakeHostAsync()
    {
        _host = await HostPool.TakeAsync(_nova, _admin);
        return _host;
    }

    private async Task KillAsync(string host)
    {
        HostPool.MarkDead(host);
        await _nova.KillComputeAsync(host);
    }

    private Operator.OperatorClient Operator(int daemon) => new(_daemons[daemon].Channel);

    /// <summary>The agent's command line: its verb first, then this host and every daemon still running.</summary>
    private IEnumerable<string> Agent(string host, string verb, params string[] rest) =>
        [verb, "--host", host, .. _daemons.Where(d => !d.Exited).SelectMany(d => new[] { "--server", d.Address }), "--hypervisor", "none", "--timeout", "5s", .. rest];

    private static async Task<Record> FirstInFlightAsync(AsyncServerStreamingCall<RecordEvent> watch)
    {
        using var limit = new CancellationTokenSource(Budget);
        await foreach (var e in watch.ResponseStream.ReadAllAsync(limit.Token))
        {
            if (e.Record is { State: RecordState.Evacuating or RecordState.Rebuilding, Owner.Length: > 0 } r)
            {
                return r;
            }
        }
        throw new InvalidOperationException("the watch ended before any record was in flight");
    }

    private async Task<IReadOnlyList<Record>> UntilTerminalAsync(string host, int expected, ServedDaemon? via = null)
    {
        var client = new Operator.OperatorClient((via ?? _daemons[0]).Channel);
        return await UntilAsync(async () =>
        {
            var records = (await client.ListRecordsAsync(new ListRecordsRequest { Host = host })).Records;
            return records.Count == expected && records.All(r => r.State is RecordState.Done or RecordState.Failed or RecordState.Skipped or RecordState.Cancelled)
                ? records.ToList()
                : null;
        }, $"{expected} terminal records of {host}");
    }

    /// <summary>Polls real processes (the daemons, Nova) until <paramref name="probe"/> answers, with a deadline.</summary>
    private async Task<T> UntilAsync<T>(Func<Task<T?>> probe, string what) where T : class
    {
        var until = DateTime.UtcNow + Budget;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"no {what} within {Budget}; daemon logs:\n" + string.Join("\n----\n", _daemons.Select(d => d.Log[^Math.Min(d.Log.Length, 4000)..])));
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }
}
