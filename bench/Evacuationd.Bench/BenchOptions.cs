using System.Globalization;

namespace Evacuationd.Bench;

/// <summary>What one bench run measures; every value has a command-line flag (see <see cref="Usage"/>).</summary>
internal sealed record BenchOptions
{
    /// <summary>etcd cluster sizes, each a fresh cluster with fsync on.</summary>
    public IReadOnlyList<int> Members { get; init; } = [1, 3];

    /// <summary>Scenario repetitions per cluster (fresh key prefix and fresh evacsim each).</summary>
    public int Runs { get; init; } = 3;

    /// <summary>Sequential compare-and-swap transactions per round.</summary>
    public int SequentialTxns { get; init; } = 1500;

    /// <summary>Parallel compare-and-swap transactions per round (spread over <see cref="Parallelism"/> keys).</summary>
    public int ParallelTxns { get; init; } = 4000;

    /// <summary>Concurrent writers (one key each) of the parallel measurement.</summary>
    public int Parallelism { get; init; } = 16;

    /// <summary>Rounds of each transaction measurement (the median is reported).</summary>
    public int TxnRounds { get; init; } = 3;

    /// <summary>Hosts powered off and reported at once.</summary>
    public int FencedHosts { get; init; } = 20;

    /// <summary>Instances on every host.</summary>
    public int InstancesPerHost { get; init; } = 50;

    /// <summary>Healthy hosts Nova's scheduler can rebuild on.</summary>
    public int SpareHosts { get; init; } = 5;

    /// <summary>Daemons in the process, each with its own etcd connection and Nova client.</summary>
    public int Daemons { get; init; } = 3;

    /// <summary>EngineOptions.MaxConcurrentRecords of each daemon.</summary>
    public int MaxConcurrentRecords { get; init; } = 64;

    /// <summary>Policy:MaxInFlightEvacuations of the rate scenario's daemons (null: the shipped default; 0: no limit).</summary>
    public int? MaxInFlight { get; init; }

    /// <summary>WorkflowOptions.PollInterval.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>EngineOptions.ClaimGrace.</summary>
    public TimeSpan ClaimGrace { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Bound of one scenario run.</summary>
    public TimeSpan ScenarioTimeout { get; init; } = TimeSpan.FromSeconds(180);

    /// <summary>
    /// Unmeasured full-size runs first on every cluster: on 2 busy cores the runtime's tiered JIT
    /// needs about three of them before the rate settles (seen: 190, 200, 360, 430 records/s).
    /// </summary>
    public int WarmUpRuns { get; init; } = 3;

    /// <summary>After the measured runs on the first cluster, one more run with allocation sampling (not counted).</summary>
    public bool AllocationTypes { get; init; }

    /// <summary>Single-host fencings, one after the other, timed for reaction (0: none).</summary>
    public int ReactionFencings { get; init; } = 40;

    /// <summary>Modes to run: rate (txn, scenario, reaction per cluster size), takeover, scale, growth.</summary>
    public IReadOnlySet<string> Modes { get; init; } = new HashSet<string>(AllModes, StringComparer.Ordinal);

    /// <summary>Takeovers of each kind (kill -9, graceful stop), alternating (0: none).</summary>
    public int TakeoverRuns { get; init; } = 5;

    /// <summary>Hosts fenced per takeover.</summary>
    public int TakeoverHosts { get; init; } = 2;

    /// <summary>Instances per host in the takeover runs.</summary>
    public int TakeoverPerHost { get; init; } = 10;

    /// <summary>Engine:LeaseTtl of the takeover daemons (shipped: 10 s).</summary>
    public TimeSpan TakeoverLeaseTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>evacsim's rebuild time in the takeover runs; null: lease TTL + 4 s (still rebuilding when a successor takes over).</summary>
    public TimeSpan? TakeoverRebuild { get; init; }

    /// <summary>Fenced hosts of the scale run (0: none).</summary>
    public int ScaleHosts { get; init; } = 500;

    /// <summary>Instances per host in the scale and growth runs.</summary>
    public int ScalePerHost { get; init; } = 20;

    /// <summary>Instance counts of the growth series.</summary>
    public IReadOnlyList<int> GrowthSizes { get; init; } = [100, 1000, 10000];

    /// <summary>Runs per growth size (the scale run counts as one of its size's).</summary>
    public int GrowthRuns { get; init; } = 3;

    /// <summary>Engine:Retention of the scale and growth daemons (the daemon accepts 1 min or more).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Engine:RetentionSweepInterval of the scale and growth daemons.</summary>
    public TimeSpan RetentionSweep { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Fence reports in flight at once in the process modes.</summary>
    public int ReportParallelism { get; init; } = 8;

    /// <summary>Extra environment of the daemon processes (e.g. DOTNET_gcServer=0 to compare the GC).</summary>
    public IReadOnlyDictionary<string, string> DaemonEnvironment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Keep the daemons' configuration and logs of every process-mode run.</summary>
    public bool KeepLogs { get; init; }

    public int ScaleInstances => ScaleHosts * ScalePerHost;

    public bool Has(string mode) => Modes.Contains(mode);

    public static readonly IReadOnlyList<string> AllModes = ["rate", "takeover", "scale", "growth"];

    /// <summary>Where to write the markdown report (besides stdout); null: stdout only.</summary>
    public string? ReportPath { get; init; }

    public int FencedInstances => FencedHosts * InstancesPerHost;

    public const string Usage = """
        usage: evacuationd-bench [options]
          --members 1,3            etcd cluster sizes (fresh cluster each, fsync on)
          --runs N                 scenario repetitions per cluster (default 3)
          --seq-txns N             sequential CAS txns per round (default 1500)
          --par-txns N             parallel CAS txns per round (default 4000)
          --parallel N             parallel writers, one key each (default 16)
          --txn-rounds N           rounds per txn measurement, median reported (default 3)
          --hosts N                fenced hosts (default 20)
          --per-host N             instances per host (default 50)
          --spares N               healthy destination hosts (default 5)
          --daemons N              daemons in the process (default 3)
          --max-concurrent N       MaxConcurrentRecords per daemon (default 64)
          --max-in-flight N        rate scenario: Policy:MaxInFlightEvacuations (default: the shipped 40; 0 = no limit)
          --poll-ms N              workflow poll interval in ms (default 50)
          --grace-ms N             claim grace in ms (default 100)
          --timeout-s N            bound of one scenario run in s (default 180; a scale/growth run: at least 2 min + 100 ms per instance)
          --warmup N               unmeasured full-size runs per cluster first (default 3; 0 = none)
          --reaction N             single-host fencings timed for reaction, shipped defaults (default 40; 0 = none)
          --alloc-types            one extra, unmeasured run sampling allocations by type
        modes (default: all; the last three run `evacuationd serve` processes on a 3-member etcd):
          --only MODES             run only these of rate,takeover,scale,growth (comma separated)
          --skip MODES             run all but these
          rate                     per --members cluster: CAS rate, record rate (scenario), reaction
          takeover                 --takeover N kill -9 and N graceful stops of the daemon owning in-flight records
          --takeover N             takeovers of each kind (default 5)
          --takeover-hosts N       hosts fenced per takeover (default 2)
          --takeover-per-host N    instances per host (default 10)
          --takeover-ttl-s N       Engine:LeaseTtl of those daemons (default 10, as shipped)
          --takeover-rebuild-s N   evacsim rebuild time (default TTL + 4)
          scale                    --scale-hosts x --per-host-served instances, then the retention sweep
          --scale-hosts N          fenced hosts (default 500)
          --per-host-served N      instances per host in scale and growth (default 20)
          --retention-s N          Engine:Retention in s (default 60, the least the daemon accepts)
          --sweep-s N              Engine:RetentionSweepInterval in s (default 5)
          growth                   the same run at each size
          --growth SIZES           instance counts (default 100,1000,10000)
          --growth-runs N          runs per size (default 3; the scale run is one of its size's)
          --report-parallel N      fence reports in flight at once (default 8)
          --keep-logs              keep the daemons' configuration and logs (a folder per run under the temp folder)
          --daemon-env NAME=VALUE  extra environment of the daemon processes (repeatable; e.g. DOTNET_gcServer=0)
          --report FILE            also write the markdown report to FILE
        """;

    private static Dictionary<string, string> WithVariable(IReadOnlyDictionary<string, string> env, string assignment)
    {
        var eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq < 1)
        {
            throw new ArgumentException($"--daemon-env takes NAME=VALUE (got {assignment})");
        }
        return new Dictionary<string, string>(env, StringComparer.Ordinal) { [assignment[..eq]] = assignment[(eq + 1)..] };
    }

    private static HashSet<string> ModeList(string value)
    {
        var modes = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        if (modes.FirstOrDefault(m => !AllModes.Contains(m)) is { } bad)
        {
            throw new ArgumentException($"unknown mode {bad} (modes: {string.Join(",", AllModes)})");
        }
        return modes;
    }

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int Int() => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v
                : throw new ArgumentException($"{a} needs a positive integer");
            int Int0() => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v
                : throw new ArgumentException($"{a} needs an integer >= 0");
            o = a switch
            {
                "--members" => o with
                {
                    Members = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList(),
                },
                "--runs" => o with { Runs = Int() },
                "--seq-txns" => o with { SequentialTxns = Int() },
                "--par-txns" => o with { ParallelTxns = Int() },
                "--parallel" => o with { Parallelism = Int() },
                "--txn-rounds" => o with { TxnRounds = Int() },
                "--hosts" => o with { FencedHosts = Int() },
                "--per-host" => o with { InstancesPerHost = Int() },
                "--spares" => o with { SpareHosts = Int() },
                "--daemons" => o with { Daemons = Int() },
                "--max-concurrent" => o with { MaxConcurrentRecords = Int() },
                "--max-in-flight" => o with { MaxInFlight = Int0() },
                "--poll-ms" => o with { PollInterval = TimeSpan.FromMilliseconds(Int()) },
                "--grace-ms" => o with { ClaimGrace = TimeSpan.FromMilliseconds(Int()) },
                "--timeout-s" => o with { ScenarioTimeout = TimeSpan.FromSeconds(Int()) },
                "--warmup" => o with { WarmUpRuns = int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture) },
                "--reaction" => o with { ReactionFencings = int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture) },
                "--alloc-types" => o with { AllocationTypes = true },
                "--report" => o with { ReportPath = Next() },
                "--only" => o with { Modes = ModeList(Next()) },
                "--skip" => o with { Modes = o.Modes.Except(ModeList(Next())).ToHashSet(StringComparer.Ordinal) },
                "--takeover" => o with { TakeoverRuns = int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture) },
                "--takeover-hosts" => o with { TakeoverHosts = Int() },
                "--takeover-per-host" => o with { TakeoverPerHost = Int() },
                "--takeover-ttl-s" => o with { TakeoverLeaseTtl = TimeSpan.FromSeconds(Int()) },
                "--takeover-rebuild-s" => o with { TakeoverRebuild = TimeSpan.FromSeconds(Int()) },
                "--scale-hosts" => o with { ScaleHosts = int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture) },
                "--per-host-served" => o with { ScalePerHost = Int() },
                "--retention-s" => o with { Retention = TimeSpan.FromSeconds(Int()) },
                "--sweep-s" => o with { RetentionSweep = TimeSpan.FromSeconds(Int()) },
                "--growth" => o with
                {
                    GrowthSizes = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).Where(n => n > 0).Order().ToList(),
                },
                "--growth-runs" => o with { GrowthRuns = Int() },
                "--report-parallel" => o with { ReportParallelism = Int() },
                "--keep-logs" => o with { KeepLogs = true },
                "--daemon-env" => o with { DaemonEnvironment = WithVariable(o.DaemonEnvironment, Next()) },
                _ => throw new ArgumentException($"unknown option {a}"),
            };
        }
        if (o.Retention < TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException("--retention-s: the daemon accepts 60 s or more (Engine:Retention)");
        }
        if (o.Members.Count == 0 || o.Members.Any(m => m is < 1 or > 9))
        {
            throw new ArgumentException("--members takes sizes from 1 to 9");
        }
        return o;
    }
}
