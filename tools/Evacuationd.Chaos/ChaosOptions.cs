using System.Globalization;

namespace Evacuationd.Chaos;

internal enum ChaosMode
{
    /// <summary>Bounded: every fault kind once, fixed seed, a few minutes; ends with "chaos: N passed, N failed".</summary>
    Ci,

    /// <summary>Long: at least <see cref="ChaosOptions.Faults"/> faults drawn from every kind; prints the figures table.</summary>
    Soak,
}

/// <summary>The harness's command line (scripts/chaos.sh fills in the paths).</summary>
internal sealed record ChaosOptions
{
    public const string Usage =
        "usage: evacuationd-chaos --evacuationd PATH --evacsim PATH --make-certs PATH --work DIR\n" +
        "                         [--ci | --soak] [--seed N] [--hosts N] [--instances-per-host M] [--faults N]\n" +
        "                         [--rebuild-ms MS] [--max-parallel-rebuilds N] [--netns-prefix P] [--report FILE]\n" +
        "                         [--drain-timeout S]\n" +
        "  --ci (default)   every fault kind once, seed 20260401, 40 hosts x 25 instances\n" +
        "  --soak           --faults (default 50) faults drawn from every kind, 96 hosts x 25 instances\n" +
        "  --report FILE    write the figures table (markdown) there\n" +
        "  --print-plan     print the seeded plan and exit (no root, nothing started)\n" +
        "Runs inside the hub namespace that scripts/chaos.sh creates (root).";

    public ChaosMode Mode { get; init; } = ChaosMode.Ci;
    public int Seed { get; init; } = 20260401;
    public int Hosts { get; init; } = 40;
    public int InstancesPerHost { get; init; } = 25;
    public int Faults { get; init; } = 50;
    public int RebuildMs { get; init; } = 2000;
    public int MaxParallelRebuilds { get; init; } = 10;
    public string NetnsPrefix { get; init; } = "evch-";
    public string Evacuationd { get; init; } = "";
    public string Evacsim { get; init; } = "";
    public string MakeCerts { get; init; } = "";
    public string Work { get; init; } = "";
    public string? Report { get; init; }
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(6);

    /// <summary>Only print the plan (the same seed and options always give the same plan).</summary>
    public bool PrintPlan { get; init; }

    /// <summary>The command line as given, for the report.</summary>
    public string CommandLine { get; init; } = "";

    public static ChaosOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ChaosOptions { CommandLine = string.Join(' ', args) };
        bool hosts = false, faults = false;
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int Int(int min, int max)
            {
                var v = Value();
                return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                    ? n : throw new ArgumentException($"{a}: '{v}' is not an integer in [{min}, {max}]");
            }
            o = a switch
            {
                "--ci" => o with { Mode = ChaosMode.Ci },
                "--soak" => o with { Mode = ChaosMode.Soak },
                "--print-plan" => o with { PrintPlan = true },
                "--seed" => o with { Seed = Int(int.MinValue, int.MaxValue) },
                "--hosts" => Mark(ref hosts, o with { Hosts = Int(12, 999) }),
                "--instances-per-host" => o with { InstancesPerHost = Int(1, 200) },
                "--faults" => Mark(ref faults, o with { Faults = Int(11, 10_000) }),
                "--rebuild-ms" => o with { RebuildMs = Int(100, 60_000) },
                "--max-parallel-rebuilds" => o with { MaxParallelRebuilds = Int(0, 10_000) },
                "--netns-prefix" => o with { NetnsPrefix = Value() },
                "--evacuationd" => o with { Evacuationd = Value() },
                "--evacsim" => o with { Evacsim = Value() },
                "--make-certs" => o with { MakeCerts = Value() },
                "--work" => o with { Work = Value() },
                "--report" => o with { Report = Value() },
                "--drain-timeout" => o with { DrainTimeout = TimeSpan.FromSeconds(Int(30, 7200)) },
                _ => throw new ArgumentException($"unknown option '{a}'"),
            };
        }
        if (o.Mode == ChaosMode.Soak && !hosts)
        {
            // Enough hosts that every one of 50 faults comes with a fence (and bursts besides),
            // with a quarter of them left healthy.
            o = o with { Hosts = 96 };
        }
        if (o.Mode == ChaosMode.Ci && faults)
        {
            throw new ArgumentException("--faults is for --soak (--ci injects every kind once)");
        }
        if (o.PrintPlan)
        {
            return o;
        }
        foreach (var (name, path) in new[] { ("--evacuationd", o.Evacuationd), ("--evacsim", o.Evacsim), ("--make-certs", o.MakeCerts) })
        {
            if (!File.Exists(path))
            {
                throw new ArgumentException($"{name}: '{path}' does not exist");
            }
        }
        if (o.Work.Length == 0)
        {
            throw new ArgumentException("--work is required");
        }
        return o;
    }

    private static ChaosOptions Mark(ref bool given, ChaosOptions o)
    {
        given = true;
        return o;
    }
}
