using System.Text;
using System.Text.RegularExpressions;
using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Cli.Tests;

/// <summary>
/// Bad input for the fence agent, as the daemon's gRPC surface gets in the server's fuzz test:
/// hundreds of seeded random stdin texts (garbage lines, binary noise, unknown and repeated
/// keys, huge and control-character values, missing options, unreachable daemons). The agent
/// answers each with a protocol exit code and short, prefixed, printable messages; garbage
/// never reaches a daemon as a host name; an exit 0 for off/reboot means a daemon recorded it.
/// </summary>
public sealed partial class FenceAgentFuzzTests
{
    private const int Seed = 20260402;
    private const int Runs = 400;
    private const int MaxLine = 1024;

    private static readonly string[] Keys =
        ["action", "port", "plug", "nodename", "server", "ca_file", "cert_file", "key_file", "timeout", "domain", "verbose", "debug_file", "pcmk_host_list"];

    private static readonly string[] Actions = ["off", "on", "reboot", "status", "monitor", "list", "validate-all", "metadata", "shutdown", "", "OFF", "off\u0000"];

    [Fact]
    public async Task RandomStdinGetsAProtocolExitCodeAndShortPrintableMessagesAndOnlyValidHostsReachADaemon()
    {
        var fencing = new FakeFencing();
        await using var daemon = await TestDaemon.StartAsync(fencing);
        var unreachable = TestDaemon.UnreachableAddress();
        var debugFile = Path.Combine(Path.GetTempPath(), $"fence-fuzz-{Guid.NewGuid():N}.log");
        var problems = new List<string>();
        var codes = new Dictionary<int, int>();
        try
        {
            for (var run = 0; run < Runs; run++)
            {
                var random = new Random(Seed + run);
                var stdin = RandomStdin(random, daemon.Address, unreachable, debugFile);
                var before = fencing.Fenced.Count;
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var result = await CliRun.RunAsync(AgentRun.Environment(stdin), "fence-agent");
                var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                codes[result.ExitCode] = codes.GetValueOrDefault(result.ExitCode) + 1;
                var what = $"run {run} (seed {Seed + run})";
                if (result.ExitCode is not (0 or 1 or 2))
                {
                    problems.Add($"{what}: exit {result.ExitCode}");
                }
                foreach (var line in result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!line.StartsWith("fence_evacuationd: ", StringComparison.Ordinal))
                    {
                        problems.Add($"{what}: stderr line without the agent's prefix: {Show(line)}");
                    }
                    if (line.Length > MaxLine)
                    {
                        problems.Add($"{what}: a stderr line of {line.Length} characters: {Show(line)}");
                    }
                    if (line.Any(c => char.IsControl(c) && c != '\r'))
                    {
                        problems.Add($"{what}: a control character in a stderr line: {Show(line)}");
                    }
                }
                foreach (var request in fencing.Fenced.Skip(before))
                {
                    if (!HostName().IsMatch(request.Host))
                    {
                        problems.Add($"{what}: the daemon was asked to fence '{Show(request.Host)}'");
                    }
                }
                var action = Action(stdin);
                if (result.ExitCode == 0 && action is "off" or "reboot" && fencing.Fenced.Count == before)
                {
                    problems.Add($"{what}: {action} exited 0 without a fence reaching the daemon");
                }
                if (elapsed > TimeSpan.FromSeconds(15))
                {
                    problems.Add($"{what}: took {elapsed.TotalSeconds:0} s");
                }
            }
        }
        finally
        {
            File.Delete(debugFile);
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct().Take(30)));
        // The generator reaches both sides: refusals and runs that went through to the daemon.
        Assert.True(codes.GetValueOrDefault(1) > Runs / 4, string.Join(", ", codes));
        Assert.True(codes.GetValueOrDefault(0) > 10, string.Join(", ", codes));
        Assert.NotEmpty(fencing.Fenced);
    }

    /// <summary>The action the agent will act on: the last action= line (default reboot).</summary>
    private static string Action(string stdin) =>
        stdin.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("action", StringComparison.Ordinal) && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l.Split('=', 2)).Where(p => p[0].Trim() == "action").Select(p => p[1].Trim()).LastOrDefault(a => a.Length > 0) ?? "reboot";

    private static string RandomStdin(Random random, string daemon, string unreachable, string debugFile)
    {
        var lines = new List<string>();
        // Most inputs are nearly right (so that some get through), the rest anything at all.
        if (random.Next(3) > 0)
        {
            lines.Add($"action={Actions[random.Next(Actions.Length)]}");
            lines.Add($"server={(random.Next(5) == 0 ? unreachable : daemon)}");
            lines.Add($"{(random.Next(2) == 0 ? "port" : "plug")}={(random.Next(3) == 0 ? Junk(random) : "compute-" + random.Next(100))}");
        }
        for (var n = random.Next(0, 8); n > 0; n--)
        {
            lines.Insert(random.Next(lines.Count + 1), random.Next(6) switch
            {
                0 => $"{Keys[random.Next(Keys.Length)]}={Value(random, daemon, unreachable, debugFile)}",
                1 => $"{Junk(random)}={Junk(random)}",
                2 => Junk(random), // no '=' at all
                3 => random.Next(2) == 0 ? "" : "# " + Junk(random),
                4 => $"  {Keys[random.Next(Keys.Length)]} = {Value(random, daemon, unreachable, debugFile)}  ",
                _ => new string('=', random.Next(1, 4)) + Junk(random),
            });
        }
        // Never wait long for a daemon that is not there: a short timeout, last so that it wins.
        lines.Add($"timeout={(random.Next(4) == 0 ? "0.3" : "1")}");
        var separator = random.Next(4) == 0 ? "\r\n" : "\n";
        return string.Join(separator, lines) + (random.Next(2) == 0 ? separator : "");
    }

    private static string Value(Random random, string daemon, string unreachable, string debugFile) => random.Next(12) switch
    {
        0 => "",
        1 => daemon,
        2 => $"{daemon},{unreachable}",
        3 => "ftp://" + Junk(random),
        4 => "compute-" + random.Next(100),
        5 => random.Next(2) == 0 ? debugFile : "/proc/evacuationd-fuzz/none.log",
        6 => random.Next(5) switch { 0 => "-1", 1 => "NaN", 2 => "1e309", 3 => "0", _ => "999999" },
        7 => random.Next(2) == 0 ? "yes" : "perhaps",
        8 => new string('x', random.Next(10) == 0 ? 200_000 : 2_000),
        9 => "\u0000\u001b[31m\u202e\ud800 \t",
        10 => Actions[random.Next(Actions.Length)],
        _ => Junk(random),
    };

    /// <summary>Printable and unprintable characters, lone surrogates, no line breaks.</summary>
    private static string Junk(Random random)
    {
        var sb = new StringBuilder();
        for (var n = random.Next(1, 40); n > 0; n--)
        {
            var c = (char)(random.Next(4) == 0 ? random.Next(0, 0x10000) : random.Next(32, 127));
            if (c is not ('\n' or '\r'))
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static string Show(string s)
    {
        var shown = new string(s.Take(120).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return s.Length > 120 ? shown + $"... ({s.Length} characters)" : shown;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")]
    private static partial Regex HostName();
}
