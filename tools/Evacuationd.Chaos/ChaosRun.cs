using System.Diagnostics;
using System.Globalization;
using System.Net;
using Evacuationd.Core.Records;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Chaos;

/// <summary>One run: start everything, play the plan, drain, check, report.</summary>
internal static class ChaosRun
{
    private const int DaemonCount = 3;
    private static readonly long Started = Stopwatch.GetTimestamp();

    public static async Task<int> RunAsync(ChaosOptions o, CancellationToken ct)
    {
        var time = TimeProvider.System;
        var topology = new Topology(o.NetnsPrefix, DaemonCount);
        await topology.CheckAsync();
        Directory.CreateDirectory(o.Work);
        var timings = new Timings();
        var plan = Plan.Create(o, timings, BurstSize(timings));
        Say(plan.Describe().TrimEnd());

        var pki = Path.Combine(o.Work, "pki");
        await MakeCertsAsync(o.MakeCerts, pki);
        Say("starting etcd (3 members on " + Topology.EtcdAddress + ")");
        await using var etcd = await EtcdCluster.StartAsync(3, new EtcdClusterOptions
        {
            ListenAddress = IPAddress.Parse(Topology.EtcdAddress),
            HeartbeatInterval = null, // etcd's own 100 ms / 1000 ms: a busy machine must not elect all the time
            ElectionTimeout = null,
            StartTimeout = TimeSpan.FromSeconds(60),
        }, ct);
        Say($"etcd up in {Checks.Seconds(etcd.StartupTime)} s: {etcd.ClientUrls}");
        await using var sim = await SimCloud.StartAsync(o.Evacsim, o, o.Work);
        Say($"evacsim on {sim.BaseUrl} ({o.Hosts} hosts x {o.InstancesPerHost} instances)");
        await using var store = new StoreRecorder(etcd.ClientUrls, time);
        store.Start();
        using var api = new DaemonApi(pki, DaemonCount);
        var daemons = Enumerable.Range(1, DaemonCount).Select(n => new Daemon(n, topology, o.Evacuationd, Path.Combine(o.Work, $"d{n}"))).ToList();
        try
        {
            foreach (var d in daemons)
            {
                d.WriteConfig(etcd.ClientUrls, sim.AuthUrl, pki, timings);
                d.Start();
            }
            await Task.WhenAll(daemons.Select(d => d.WaitReadyAsync(api, TimeSpan.FromSeconds(180))));
            Say("daemons ready: " + string.Join(", ", daemons.Select(d => $"{d.Id} pid {d.Process!.Pid} {Topology.GrpcUrl(d.N)}")));

            var runStarted = Stopwatch.GetTimestamp();
            var fencer = new Fencer(api, sim, store, time, o.Seed, Say);
            var faults = new FaultRunner(topology, daemons, etcd, sim, store, api, o, time, Say);
            using var confirming = new CancellationTokenSource();
            var confirmLoop = fencer.ConfirmHeldLoopAsync(confirming.Token);
            var fences = new List<Task>();
            foreach (var step in plan.Steps)
            {
                switch (step)
                {
                    case FenceStep f:
                        fences.Add(fencer.FenceAsync(f.Hosts, ct)); // in flight while the next fault hits
                        break;
                    case WaitStep w:
                        await Task.Delay(w.Delay, ct);
                        break;
                    case JoinNovaStep:
                        await faults.JoinNovaAsync();
                        break;
                    case FaultStep f:
                        Say($"fault {f.Index}: {f.Kind.Name()}");
                        await faults.RunAsync(f, ct);
                        break;
                }
            }
            await faults.DrainAsync();
            await Task.WhenAll(fences);
            await sim.ClearFaultsAsync();
            await faults.RestoreAsync(ct);
            Say($"plan played in {Checks.Seconds(Stopwatch.GetElapsedTime(runStarted))} s; draining");
            var drained = await DrainAsync(store, fencer, o.DrainTimeout, ct);
            await confirming.CancelAsync();
            await confirmLoop;

            Say("stopping the daemons (SIGTERM)");
            await Task.WhenAll(daemons.Select(d => d.Process!.StopAsync(TimeSpan.FromSeconds(40))));
            await store.CatchUpAsync(TimeSpan.FromSeconds(120));
            var facts = new RunFacts(o, timings, plan, store.Revisions, fencer.Acks, fencer.Failures, fencer.Confirmations, faults.Events,
                await sim.StatsAsync(), await sim.EvacuateCallsAsync(), await sim.MigrationsAsync(), await sim.InstancesAsync(),
                drained, Stopwatch.GetElapsedTime(Started));
            var checks = new Checks(facts);
            var results = checks.All();
            var figures = Report.Figures(facts, checks, results, DaemonLogs.Count(daemons.Select(d => d.Log)));
            await File.WriteAllTextAsync(Path.Combine(o.Work, "figures.md"), figures, ct);
            if (o.Report is not null)
            {
                await File.WriteAllTextAsync(o.Report, figures, ct);
            }
            Console.WriteLine();
            foreach (var r in results)
            {
                Console.WriteLine($"{(r.Passed ? "PASS" : "FAIL")}  {r.Name}: {r.Summary}");
                foreach (var p in r.Problems.Take(15))
                {
                    Console.WriteLine($"      {p}");
                }
                if (r.Problems.Count > 15)
                {
                    Console.WriteLine($"      ... and {r.Problems.Count - 15} more");
                }
            }
            Console.WriteLine();
            Console.WriteLine(figures);
            var failed = results.Count(r => !r.Passed);
            Console.WriteLine($"chaos: {results.Count - failed} passed, {failed} failed");
            return failed == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var d in daemons)
            {
                if (d.Process is { } p)
                {
                    await p.KillAsync();
                }
                d.Dispose();
            }
        }
    }

    /// <summary>A burst fences this many hosts at once: past the blast-radius guard's count.</summary>
    public static int BurstSize(Timings t) => t.MaxHostsInWindow + 2;

    /// <summary>Waits until every acknowledged fencing and every instance record is terminal; false at the deadline.</summary>
    private static async Task<bool> DrainAsync(StoreRecorder store, Fencer fencer, TimeSpan timeout, CancellationToken ct)
    {
        var until = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var lastSay = 0L;
        while (true)
        {
            var hosts = store.Under(Keys.Hosts).Select(h => Keys.Host(h.State.Value)).ToDictionary(h => h.Name, StringComparer.Ordinal);
            var records = store.Under(Keys.Instances).Select(r => Keys.Instance(r.State.Value)).ToList();
            var openHosts = fencer.Acks.Count(a => !hosts.TryGetValue(a.Host, out var h) || !h.IsTerminal);
            var open = records.Where(r => !r.IsTerminal).ToList();
            if (openHosts == 0 && open.Count == 0)
            {
                return true;
            }
            if (Stopwatch.GetTimestamp() > until)
            {
                Say($"drain: gave up after {timeout.TotalMinutes:0} min with {openHosts} fencings and {open.Count} records open");
                return false;
            }
            if (Stopwatch.GetElapsedTime(lastSay).TotalSeconds >= 15)
            {
                lastSay = Stopwatch.GetTimestamp();
                Say($"drain: {openHosts} fencings open; records {string.Join(", ", records.GroupBy(r => r.State).OrderBy(g => g.Key).Select(g => $"{g.Key.Name()} {g.Count()}"))}");
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    private static async Task MakeCertsAsync(string script, string pki)
    {
        var psi = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { pki }.Concat(Enumerable.Range(1, DaemonCount).Select(Topology.DaemonAddress)))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed: {await errors}{await output}");
        }
    }

    public static void Say(string message)
    {
        var at = Stopwatch.GetElapsedTime(Started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture).PadLeft(6);
        foreach (var line in message.Split('\n'))
        {
            Console.Error.WriteLine($"[{at}] {line}");
        }
    }
}
