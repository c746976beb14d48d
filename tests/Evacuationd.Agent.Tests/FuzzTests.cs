using System.Text;
using Evacuationd.Agent.Tests.Support;
using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Agent.Tests;

/// <summary>
/// Bad input for the agent, as the daemon's gRPC surface and the fence agent get it: hundreds
/// of seeded random command lines (unknown and repeated options, missing values, huge and
/// control-character values, unreachable daemons) and configuration files (binary noise,
/// wrong types, duplicate keys, deep nesting). Every run ends with one of the agent's exit
/// codes and short, printable messages; a usage error never calls a daemon.
/// </summary>
public sealed class FuzzTests : IAsyncLifetime
{
    private const int Seed = 20260403;
    private const int Runs = 300;
    private const int MaxLine = 1024;

    private static readonly string[] CommonOptions =
        ["--config", "--host", "--server", "-s", "--ca", "--cert", "--key", "--timeout", "--hypervisor", "--virsh", "--libvirt-uri", "--hypervisor-timeout", "--log-format", "--log-level"];

    private static readonly string[] RunOptions = ["--interval", "--check", "--check-timeout", "--release", "--release-timeout"];

    private static readonly string[] GateOptions = ["--wait", "--poll"];

    /// <summary>Self-checks are run by /bin/sh: only harmless commands, good and bad names.</summary>
    private static readonly string[] Checks = ["a=true", "b=false", "=true", "noequals", "bad name=true", "c=", "a=true"];

    private readonly string directory = Directory.CreateTempSubdirectory("agent-fuzz-").FullName;
    private AgentHarness daemon = null!;

    public async Task InitializeAsync() => daemon = await AgentHarness.StartAsync();

    public async Task DisposeAsync()
    {
        await daemon.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task RandomCommandLinesAndConfigFilesGetTheAgentsExitCodesAndShortPrintableMessages()
    {
        var unreachable = TestDaemon.UnreachableAddress();
        var problems = new List<string>();
        var codes = new Dictionary<int, int>();
        for (var run = 0; run < Runs; run++)
        {
            var random = new Random(Seed + run);
            var args = RandomArgs(random, run, unreachable);
            var calls = Calls();
            using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)); // run loops until stopped; gate waits
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            AgentResult result;
            try
            {
                result = await new AgentHarness().RunAsync(args, stop.Token);
            }
            catch (Exception e)
            {
                problems.Add($"run {run}: {e.GetType().Name} escaped: {e.Message}\n  args: {Show(string.Join(' ', args))}");
                continue;
            }
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            codes[result.ExitCode] = codes.GetValueOrDefault(result.ExitCode) + 1;
            var what = $"run {run} (seed {Seed + run})";
            if (result.ExitCode is not (ExitCodes.Success or ExitCodes.Closed or ExitCodes.Usage or ExitCodes.Unreachable))
            {
                problems.Add($"{what}: exit {result.ExitCode}");
            }
            if (result.Stderr.Contains("Unhandled exception", StringComparison.Ordinal) || result.Stderr.Contains("   at ", StringComparison.Ordinal))
            {
                problems.Add($"{what}: crashed: {Show(result.Stderr)}\n  args: {Show(string.Join(' ', args))}");
            }
            foreach (var line in result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')))
            {
                if (!line.StartsWith("evacuationd-agent: ", StringComparison.Ordinal) && line != "Run 'evacuationd-agent --help' for usage.")
                {
                    problems.Add($"{what}: stderr line without the agent's prefix: {Show(line)}");
                }
                if (line.Length > MaxLine)
                {
                    problems.Add($"{what}: a stderr line of {line.Length} characters: {Show(line)}");
                }
                if (line.Any(char.IsControl))
                {
                    problems.Add($"{what}: a control character in a stderr line: {Show(line)}");
                }
            }
            if (result.ExitCode == ExitCodes.Usage && Calls() != calls)
            {
                problems.Add($"{what}: a usage error, yet the daemon was called");
            }
            if (elapsed > TimeSpan.FromSeconds(15))
            {
                problems.Add($"{what}: took {elapsed.TotalSeconds:0} s");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct().Take(30)));
        // The generator reaches both sides: usage errors and runs that talked to a daemon.
        Assert.True(codes.GetValueOrDefault(ExitCodes.Usage) > Runs / 3, string.Join(", ", codes));
        Assert.True(codes.Where(c => c.Key != ExitCodes.Usage).Sum(c => c.Value) > 10, string.Join(", ", codes));
        Assert.NotEmpty(daemon.Daemon.CheckIns);
    }

    private int Calls() => daemon.Daemon.CheckIns.Count + daemon.Daemon.GateRequests.Count + daemon.Daemon.GuardReports.Count
        + daemon.Daemon.SelfCheckReports.Count + daemon.Daemon.ReleaseRequests.Count;

    private string[] RandomArgs(Random random, int run, string unreachable)
    {
        var args = new List<string>();
        var command = random.Next(10) switch { 0 => Junk(random), 1 => "", _ => random.Next(2) == 0 ? "run" : "gate" };
        args.Add(command);
        var options = CommonOptions.Concat(command == "run" ? RunOptions : command == "gate" ? GateOptions : RunOptions.Concat(GateOptions)).ToArray();
        if (random.Next(3) > 0)
        {
            // Nearly right, so that some runs get through to the daemon.
            args.AddRange(["--host", random.Next(4) == 0 ? Junk(random) : "compute-01", "--server", random.Next(5) == 0 ? unreachable : daemon.Address]);
        }
        for (var n = random.Next(0, 6); n > 0; n--)
        {
            var option = random.Next(12) == 0 ? "--" + Junk(random) : options[random.Next(options.Length)];
            args.Add(option);
            if (random.Next(12) == 0)
            {
                continue; // its value is missing
            }
            args.Add(option switch
            {
                "--config" => ConfigFile(random, run, unreachable),
                "--check" => Checks[random.Next(Checks.Length)],
                "--server" or "-s" => random.Next(3) switch { 0 => daemon.Address, 1 => unreachable, _ => Value(random) },
                _ => Value(random),
            });
        }
        return args.ToArray();
    }

    private string ConfigFile(Random random, int run, string unreachable)
    {
        var path = Path.Combine(directory, $"config-{run}-{random.Next(1000)}.json");
        string text = random.Next(8) switch
        {
            0 => Junk(random),
            1 => "",
            2 => """{ "host": "compute-01", "host": "compute-02" }""",
            3 => new string('[', 5_000) + new string(']', 5_000),
            4 => $$"""{ "host": "compute-01", "server": ["{{(random.Next(2) == 0 ? daemon.Address : unreachable)}}"], "wait": "0", "interval": "1s" }""",
            5 => $$"""{ "host": {{Json(random, 0)}}, "server": {{Json(random, 0)}}, "check": {{Json(random, 0)}}, "timeout": {{Json(random, 0)}} }""",
            6 => $$"""{ "{{Escape(Junk(random))}}": {{Json(random, 0)}}, "release": {{Json(random, 0)}} }""",
            _ => $$"""{ "host": "{{new string('x', 100_000)}}", "server": "{{Escape(Value(random))}}" }""",
        };
        if (random.Next(10) == 0)
        {
            return random.Next(2) == 0 ? directory : Path.Combine(directory, "missing.json");
        }
        File.WriteAllText(path, text);
        return path;
    }

    private static string Json(Random random, int depth) => random.Next(depth > 2 ? 5 : 7) switch
    {
        0 => "null",
        1 => random.Next(2) == 0 ? "true" : "false",
        2 => random.Next(3) switch { 0 => "-1", 1 => "1e309", _ => "42" },
        3 => $"\"{Escape(Value(random))}\"",
        4 => "\"compute-01\"",
        5 => "[" + string.Join(", ", Enumerable.Range(0, random.Next(4)).Select(_ => Json(random, depth + 1))) + "]",
        _ => "{ \"name\": " + Json(random, depth + 1) + ", \"command\": \"true\", \"timeout\": " + Json(random, depth + 1) + " }",
    };

    private static string Value(Random random) => random.Next(10) switch
    {
        0 => "",
        1 => "0",
        2 => random.Next(3) switch { 0 => "1s", 1 => "500ms", _ => "-3s" },
        3 => random.Next(3) switch { 0 => "none", 1 => "virsh", _ => "text" },
        4 => new string('x', random.Next(10) == 0 ? 200_000 : 3_000),
        5 => "\u0000\u001b[31m\u202e \t",
        6 => "https://" + Junk(random),
        7 => "compute-01",
        _ => Junk(random),
    };

    /// <summary>Printable and unprintable characters (no lone surrogates: a command line cannot carry them).</summary>
    private static string Junk(Random random)
    {
        var sb = new StringBuilder();
        for (var n = random.Next(1, 30); n > 0; n--)
        {
            var c = (char)(random.Next(4) == 0 ? random.Next(0, 0xD800) : random.Next(32, 127));
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static string Escape(string s) => System.Text.Json.JsonEncodedText.Encode(s).ToString();

    private static string Show(string s)
    {
        var shown = new string(s.Take(160).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return s.Length > 160 ? shown + $"... ({s.Length} characters)" : shown;
    }
}
