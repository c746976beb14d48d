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
          --poll-ms N              workflow poll interval in ms (default 50)
          --grace-ms N             claim grace in ms (default 100)
          --timeout-s N            bound of one scenario run in s (default 180)
          --warmup N               unmeasured full-size runs per cluster first (default 3; 0 = none)
          --reaction N             single-host fencings timed for reaction, shipped defaults (default 40; 0 = none)
          --alloc-types            one extra, unmeasured run sampling allocations by type
          --report FILE            also write the markdown report to FILE
        """;

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
                "--poll-ms" => o with { PollInterval = TimeSpan.FromMilliseconds(Int()) },
                "--grace-ms" => o with { ClaimGrace = TimeSpan.FromMilliseconds(Int()) },
                "--timeout-s" => o with { ScenarioTimeout = TimeSpan.FromSeconds(Int()) },
                "--warmup" => o with { WarmUpRuns = int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture) },
                "--reaction" => o with { ReactionFencings = int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture) },
                "--alloc-types" => o with { AllocationTypes = true },
                "--report" => o with { ReportPath = Next() },
                _ => throw new ArgumentException($"unknown option {a}"),
            };
        }
        if (o.Members.Count == 0 || o.Members.Any(m => m is < 1 or > 9))
        {
            throw new ArgumentException("--members takes sizes from 1 to 9");
        }
        return o;
    }
}
