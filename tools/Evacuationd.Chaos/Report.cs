using System.Globalization;
using System.Text;
using Evacuationd.Core.Records;

namespace Evacuationd.Chaos;

/// <summary>The figures of a run as a markdown table (the soak's table in docs/ is this).</summary>
internal static class Report
{
    public static string Figures(RunFacts f, Checks checks, IReadOnlyList<CheckResult> results, IReadOnlyDictionary<string, int> daemonLog)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        var records = checks.Records;
        var o = f.Options;
        sb.Append(inv, $"Run: {o.Mode.ToString().ToLowerInvariant()}, seed {o.Seed}, {o.Hosts} hosts x {o.InstancesPerHost} instances, rebuild {o.RebuildMs} ms, ");
        sb.Append(inv, $"3 daemons (lease TTL {f.Timings.LeaseTtl.TotalSeconds:0} s), 3 etcd members; {Checks.Seconds(f.Duration)} s in all.\n\n");

        sb.Append("| fault | planned | took effect | lease lost | takeover min / median / max (s) |\n");
        sb.Append("| --- | ---: | ---: | ---: | --- |\n");
        foreach (var kind in FaultKinds.All)
        {
            var events = f.Faults.Where(e => e.Kind == kind).ToList();
            var losses = checks.LeaseLosses.Where(l => l.Fault.Kind == kind).ToList();
            var lost = kind.OnDaemon() ? losses.Count(l => l.LostAtRevision > 0).ToString(inv) : "-";
            var takeovers = losses.Where(l => l.Takeover is not null).Select(l => l.Takeover!.Value).ToList();
            sb.Append(inv, $"| {kind.Name()} | {events.Count} | {events.Count(checks.Effective)} | {lost} | {Spread(takeovers)} |\n");
        }
        var all = f.Faults.Count;
        var allTakeovers = checks.LeaseLosses.Where(l => l.Fault.Kind.LosesLease() && l.Takeover is not null).Select(l => l.Takeover!.Value).ToList();
        sb.Append(inv, $"| **all** | **{all}** | **{f.Faults.Count(checks.Effective)}** | **{checks.LeaseLosses.Count(l => l.LostAtRevision > 0)}** | **{Spread(allTakeovers)}** (lease lost) |\n\n");

        var done = records.Count(r => r.State == RecordState.Done);
        sb.Append("| figure | value |\n| --- | ---: |\n");
        sb.Append(inv, $"| hosts fenced (acknowledged / planned) | {f.Acks.Count} / {f.Plan.FencedHosts.Count()} |\n");
        sb.Append(inv, $"| fencings held by the blast-radius guard, confirmed by the operator | {checks.HeldCommits}, {f.Confirmations.Count} |\n");
        sb.Append(inv, $"| instances on fenced hosts | {f.Acks.Sum(a => a.InstancesAtFence.Count)} |\n");
        sb.Append(inv, $"| **instances evacuated** (records done) | **{done}** |\n");
        sb.Append(inv, $"| records failed / skipped / cancelled (each with its reason) | {records.Count(r => r.State == RecordState.Failed)} / {records.Count(r => r.State == RecordState.Skipped)} / {records.Count(r => r.State == RecordState.Cancelled)} |\n");
        sb.Append(inv, $"| records not terminal at the end | {records.Count(r => !r.IsTerminal)} |\n");
        sb.Append(inv, $"| records taken over after their owner died (adoptions) | {records.Sum(r => r.Adoptions)} |\n");
        sb.Append(inv, $"| evacuate calls accepted by Nova / attempts recorded | {f.Calls.Count(c => c.StatusCode == 200)} / {records.Sum(r => r.Attempt)} |\n");
        sb.Append(inv, $"| duplicate evacuations (evacsim) | {f.Stats.DuplicateEvacuations} |\n");
        sb.Append(inv, $"| Nova faults injected by evacsim | {string.Join(", ", f.Stats.FaultsInjected.Select(kv => $"{kv.Key} {kv.Value}"))} |\n");
        sb.Append(inv, $"| etcd revisions replayed | {f.History.Count} |\n");
        foreach (var (what, count) in daemonLog)
        {
            sb.Append(inv, $"| daemon logs: {what} | {count} |\n");
        }
        sb.Append('\n');

        var ended = records.Where(r => r.State is not RecordState.Done).GroupBy(r => $"{r.State.Name()}: {Shorten(r.Reason)}").OrderByDescending(g => g.Count()).ToList();
        if (ended.Count > 0)
        {
            sb.Append("| records not done | reason (first words) |\n| ---: | --- |\n");
            foreach (var g in ended)
            {
                sb.Append(inv, $"| {g.Count()} | {g.Key.Replace("|", "/", StringComparison.Ordinal)} |\n");
            }
            sb.Append('\n');
        }

        sb.Append("| invariant check | result | violations |\n| --- | --- | ---: |\n");
        foreach (var r in results)
        {
            sb.Append(inv, $"| {r.Name} | {(r.Passed ? "pass" : "FAIL")} | {r.Problems.Count} |\n");
        }
        sb.Append(inv, $"| **all** | **{results.Count(r => r.Passed)} passed, {results.Count(r => !r.Passed)} failed** | **{results.Sum(r => r.Problems.Count)}** |\n");
        return sb.ToString();
    }

    /// <summary>A reason without its instance-specific tail (uuids, numbers), to group by.</summary>
    private static string Shorten(string reason)
    {
        var words = System.Text.RegularExpressions.Regex.Replace(reason, "[0-9a-f]{8}-[0-9a-f-]{27}|\\b[0-9]+(\\.[0-9]+)?\\b", "#");
        return words.Length <= 110 ? words : words[..110] + "...";
    }

    /// <summary>"min / median / max" in seconds, or "-".</summary>
    public static string Spread(IReadOnlyList<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            return "-";
        }
        var sorted = values.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        return $"{Checks.Seconds(sorted[0])} / {Checks.Seconds(median)} / {Checks.Seconds(sorted[^1])}";
    }
}
