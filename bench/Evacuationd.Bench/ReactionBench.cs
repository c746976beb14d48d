using System.Diagnostics;
using Evacuationd.Core.Api;
using Evacuationd.Core.Engine;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Etcd;
using Evacuationd.Nova;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Bench;

/// <summary>Reaction of one fencing: report accepted, first evacuate call answered, in ms after the report began.</summary>
internal sealed record Reaction(double Acknowledged, double FirstEvacuate);

/// <summary>
/// Reaction time as an operator lives it: daemons with the shipped defaults (no bench tuning),
/// an idle installation, one host reported at a time; from the start of the report to the first
/// evacuate call for that host answered by a zero-latency evacsim. The next host is reported
/// once the previous one ended, so each figure is one fencing on its own.
/// </summary>
internal static class ReactionBench
{
    private const int InstancesPerHost = 5;

    public static async Task<IReadOnlyList<Reaction>> RunAsync(EtcdCluster cluster, BenchOptions o, CancellationToken ct)
    {
        var time = TimeProvider.System;
        var sim = SimulatedCloud.CreatePopulated(new SimulatorOptions
        {
            Hosts = o.ReactionFencings + o.SpareHosts,
            InstancesPerHost = InstancesPerHost,
            Rebuild = TimeSpan.Zero,
            ServiceDownTime = TimeSpan.Zero,
        }, time);
        var fenced = sim.HostNames().Take(o.ReactionFencings).ToList();
        await using var simulator = await SimulatorHost.StartAsync(sim, "http://127.0.0.1:0", ct);
        var etcdOptions = new EtcdOptions { Endpoints = cluster.ClientUrls, Prefix = $"/evacuationd-bench/{Guid.NewGuid():N}" };
        var engine = new EngineOptions
        {
            // The blast-radius guard would hold the fourth host within its window: one fencing at a time here.
            Policy = new PolicyOptions { MaxHostsInWindow = o.ReactionFencings + 1, MaxSharePercent = 100 },
        };
        var novaOptions = new NovaClientOptions { AuthUrl = simulator.IdentityUrl.ToString(), Username = "admin", Password = "x", ProjectName = "admin" };

        await using var daemons = await BenchDaemons.StartAsync(o.Daemons, "reaction", engine, etcdOptions, novaOptions, time, ct);
        var reporter = daemons.Observer;
        var intake = new FenceIntake(reporter, time, "bench", engine.Policy);
        var reactions = new List<Reaction>();
        foreach (var host in fenced)
        {
            var mine = sim.ListInstances().Where(i => i.Host == host).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            sim.PowerOff(host);
            var startedAt = time.GetUtcNow();
            var started = Stopwatch.GetTimestamp();
            var decision = await intake.ReportAsync(new FenceReport(host, FenceSource.FenceAgent, "bench fencer"), ct);
            var acknowledged = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (decision.Outcome != FenceOutcome.Created)
            {
                throw new InvalidOperationException($"{host}: the report was not taken as new: {decision.Outcome}: {decision.Message}");
            }
            await UntilEndedAsync(reporter, host, ct);
            var first = sim.GetRequestLog()
                .Where(r => r.At >= startedAt && r.Method == "POST" && r.Path.EndsWith("/action", StringComparison.Ordinal) && mine.Any(id => r.Path.Contains(id, StringComparison.Ordinal)))
                .Min(r => (DateTimeOffset?)r.At)
                ?? throw new InvalidOperationException($"{host}: no evacuate call was made");
            reactions.Add(new Reaction(acknowledged, (first - startedAt).TotalMilliseconds));
        }
        return reactions;
    }

    /// <summary>Reads the host record until its fencing ended (the bench's own pace; not part of any figure).</summary>
    private static async Task UntilEndedAsync(EtcdEvacuationStore store, string host, CancellationToken ct)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await store.GetHostAsync(host, ct))?.Value is not { IsTerminal: true })
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"{host}: its fencing did not end within 60 s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
        }
    }
}
