using Evacuationd.Core.Records;
using Evacuationd.Server.Embedded;

namespace Evacuationd.Server.Demo;

/// <summary>One instance of the fenced host at the end of the demo.</summary>
public sealed record DemoInstance(InstanceRecord Record, string? SimHost, string? SimVmState, int EvacuateCalls, bool Orphaned, IReadOnlyList<string> Daemons);

/// <summary>One check of the demo's end state.</summary>
public sealed record DemoCheck(bool Ok, string Text);

/// <summary>The demo's end state, as the store and evacsim's stats show it.</summary>
public sealed record DemoResult(
    string FencedHost,
    string? KilledDaemon,
    IReadOnlyList<DemoInstance> Instances,
    int DuplicateEvacuations,
    int EvacuateCallsTotal,
    IReadOnlyList<DemoCheck> Checks)
{
    public bool Passed => Checks.All(c => c.Ok);

    /// <summary>The Prometheus text scraped from the daemons' metrics endpoint at the end, if any.</summary>
    public string? MetricsScrape { get; init; }

    public Uri? MetricsAddress { get; init; }

    /// <summary>count and sum of a histogram in <see cref="MetricsScrape"/> (all label sets together).</summary>
    public (double Count, double Sum) Histogram(string name)
    {
        double count = 0, sum = 0;
        foreach (var line in (MetricsScrape ?? "").Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }
            var value = line.Length > 0 && line.LastIndexOf(' ') is var sp and > 0 && double.TryParse(line[(sp + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;
            if (line.StartsWith(name + "_count", StringComparison.Ordinal))
            {
                count += value;
            }
            else if (line.StartsWith(name + "_sum", StringComparison.Ordinal))
            {
                sum += value;
            }
        }
        return (count, sum);
    }

    public void Print(TextWriter o, TimeSpan elapsed)
    {
        o.WriteLine($"Summary of the fencing of {FencedHost}");
        var rows = Instances.Select(i => new[]
        {
            i.Record.InstanceName,
            i.Record.InstanceUuid[..8],
            i.Record.SourceHost,
            i.SimHost ?? "-",
            i.Record.State.Name(),
            i.Record.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
            i.EvacuateCalls.ToString(System.Globalization.CultureInfo.InvariantCulture),
            string.Join(",", i.Daemons),
            i.Orphaned ? "taken over after the kill" : (i.Record.State == RecordState.Done ? "" : DemoProgress.Trim(i.Record.Reason, 70)),
        }).ToList();
        PrintTable(o, ["INSTANCE", "UUID", "FROM", "NOW ON", "STATE", "ATTEMPTS", "EVACUATE CALLS", "DAEMONS", "NOTE"], rows);
        o.WriteLine();
        o.WriteLine($"evacsim: {EvacuateCallsTotal} evacuate call(s) accepted, {DuplicateEvacuations} duplicate(s)");
        if (MetricsScrape is not null)
        {
            var first = Histogram("evacuationd_fence_to_first_evacuate_seconds");
            var done = Histogram("evacuationd_fence_to_done_seconds");
            o.WriteLine($"metrics ({MetricsAddress}): fence -> first evacuate call: {first.Count:0} sample(s), mean {Mean(first):0.00} s; fence -> record ended: {done.Count:0} sample(s), mean {Mean(done):0.00} s");
        }
        foreach (var c in Checks)
        {
            o.WriteLine($"  [{(c.Ok ? "ok" : "FAILED")}] {c.Text}");
        }
        o.WriteLine($"demo {(Passed ? "passed" : "FAILED")} in {DemoProgress.Seconds(elapsed)}");
    }

    private static double Mean((double Count, double Sum) h) => h.Count == 0 ? 0 : h.Sum / h.Count;

    private static void PrintTable(TextWriter o, string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        o.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var r in rows)
        {
            o.WriteLine(string.Join("  ", r.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }
}

internal static class DemoSummary
{
    public static async Task<DemoResult> BuildAsync(EmbeddedCloud cloud, string fenced, string? killed, IReadOnlySet<string> orphans, bool finished, CancellationToken ct)
    {
        var host = (await cloud.Store.GetHostAsync(fenced, ct).ConfigureAwait(false))?.Value;
        var records = (await cloud.Store.ListInstancesAsync(fenced, host?.FenceGeneration ?? 0, ct).ConfigureAwait(false))
            .Select(v => v.Value).OrderBy(r => r.InstanceName, StringComparer.Ordinal).ToList();
        var sim = cloud.Simulator.Cloud;
        var stats = sim.GetStats();
        var hosts = sim.GetHosts().ToDictionary(h => h.Name, StringComparer.Ordinal);
        var instances = records.Select(r =>
        {
            var s = sim.GetInstance(r.InstanceUuid);
            var daemons = r.History.Skip(1).Select(t => t.Daemon).Where(d => d.Length > 0).Distinct().ToList();
            return new DemoInstance(r, s?.Host, s?.VmState, stats.EvacuateCalls.GetValueOrDefault(r.InstanceUuid), orphans.Contains(r.Id), daemons);
        }).ToList();

        var evacuable = instances.Where(i => i.Record.State != RecordState.Skipped).ToList();
        var skipped = instances.Where(i => i.Record.State == RecordState.Skipped).ToList();
        bool Healthy(DemoInstance i) => i.SimHost is { } h && h != fenced && hosts.TryGetValue(h, out var hs) && hs.Powered && i.SimVmState == "active";
        var orphaned = instances.Where(i => i.Orphaned).ToList();
        var checks = new List<DemoCheck>
        {
            new(finished && host is { IsTerminal: true }, $"fencing {host?.EvacuationId ?? fenced} ended ({host?.State.Name() ?? "no host record"}) before the deadline"),
            new(evacuable.Count > 0 && evacuable.All(i => i.Record.State == RecordState.Done && Healthy(i)),
                $"{evacuable.Count(i => i.Record.State == RecordState.Done && Healthy(i))} of {evacuable.Count} evacuable instances done and ACTIVE on a healthy host"),
            new(evacuable.All(i => i.EvacuateCalls == 1), $"each evacuated instance got exactly one evacuate call ({string.Join(",", evacuable.Select(i => i.EvacuateCalls).Distinct())})"),
            new(stats.DuplicateEvacuations == 0, $"{stats.DuplicateEvacuations} duplicate evacuations (evacsim)"),
            new(stats.ForcedDownBeforeEvacuate && stats.EvacuateCallsWithoutForcedDown == 0, $"{fenced} was forced down before every evacuate call"),
            new(skipped.All(i => i.Record.Reason.Length > 0) && skipped.All(i => i.SimHost == fenced),
                $"{skipped.Count} skipped with a reason, left where they were: {string.Join("; ", skipped.Select(i => $"{i.Record.InstanceName}: {DemoProgress.Trim(i.Record.Reason, 60)}"))}"),
            new(killed is not null && orphaned.Count > 0 && orphaned.All(i => i.Record.IsTerminal && i.Daemons.Any(d => d != killed)),
                killed is null
                    ? "no daemon was killed (the kill never found records in flight)"
                    : $"{orphaned.Count} record(s) of the killed {killed} finished by the others"),
        };
        return new DemoResult(fenced, killed, instances, stats.DuplicateEvacuations, stats.EvacuateCallsTotal, checks);
    }
}
