using System.Globalization;
using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator;

/// <summary>Outcome of parsing evacsim's command line.</summary>
public sealed record CommandLineResult(SimulatorOptions? Options, string? Error, bool ShowHelp);

/// <summary>Hand-written parser for <c>evacsim</c>'s arguments.</summary>
public static class CommandLine
{
    public const string Usage =
        "usage: evacsim [--listen URL] [--hosts N] [--instances-per-host M] [--rebuild-ms MS]\n" +
        "               [--service-down-time-ms MS] [--cleanup-ms MS] [--token-ttl-s S] [--seed N]\n" +
        "               [--max-parallel-rebuilds N] [--region NAME] [--max-microversion 2.X]\n" +
        "               [--fault KIND[:K=V,...]]...\n" +
        "defaults: --listen http://127.0.0.1:8774 --hosts 3 --instances-per-host 4 --rebuild-ms 1500\n" +
        "          --service-down-time-ms 60000 --cleanup-ms 3000 --token-ttl-s 3600 --seed 1\n" +
        "          --max-parallel-rebuilds 0 (unlimited), no faults\n" +
        "faults (repeatable; p = probability in [0,1], default 1; drawn from a generator seeded by --seed;\n" +
        "        changeable at run time with PUT/GET/DELETE /_sim/faults):\n" +
        "  latency:p=P,ms=MS[,path=SUB][,method=M][,after=true]  delay the answer (after: operation first)\n" +
        "  5xx:p=P[,code=500|503][,path=SUB][,method=M]          answer 5xx, do nothing\n" +
        "  5xx-after:p=P[,code=C][,path=SUB][,method=M]          do it, then answer 5xx\n" +
        "  timeout:p=P[,ms=MS][,path=SUB][,method=M][,after=true] never answer (close after ms if given)\n" +
        "  evacuate-error:p=P[,host=H]      accepted evacuation fails at the end (migration error)\n" +
        "  novalidhost:p=P[,host=H]         accepted evacuation finds no host (NoValidHost)\n" +
        "  refuse-force-down[:host=H][,p=P] forced_down true on os-services answers 500\n" +
        "  path=SUB matches a substring of the URL path, e.g. os-migrations, /action, /identity/";

    /// <summary>Parses <paramref name="args"/>; accepts <c>--opt value</c> and <c>--opt=value</c>.</summary>
    public static CommandLineResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new SimulatorOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                return new CommandLineResult(null, null, true);
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                return Fail($"unexpected argument '{arg}'");
            }

            string name;
            string? value = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                name = arg;
            }

            if (!IsKnown(name))
            {
                return Fail($"unknown option '{name}'");
            }

            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    return Fail($"option '{name}' needs a value");
                }

                value = args[++i];
            }

            string? error;
            (options, error) = Apply(options, name, value);
            if (error is not null)
            {
                return Fail(error);
            }
        }

        return new CommandLineResult(options, null, false);
    }

    private static bool IsKnown(string name) => name is "--listen" or "--hosts" or "--instances-per-host"
        or "--rebuild-ms" or "--service-down-time-ms" or "--cleanup-ms" or "--token-ttl-s" or "--seed"
        or "--region" or "--max-microversion" or "--max-parallel-rebuilds" or "--fault";

    private static (SimulatorOptions Options, string? Error) Apply(SimulatorOptions o, string name, string value)
    {
        switch (name)
        {
            case "--listen":
                return ValidListen(value) ? (o with { Listen = value }, null)
                    : (o, $"option '--listen': '{value}' is not an http URL with a host and a port (e.g. http://127.0.0.1:8774)");
            case "--hosts":
                return Int(name, value, 0, 9999, out var hosts) is { } e1 ? (o, e1) : (o with { Hosts = hosts }, null);
            case "--instances-per-host":
                return Int(name, value, 0, 100_000, out var per) is { } e2 ? (o, e2) : (o with { InstancesPerHost = per }, null);
            case "--rebuild-ms":
                return Int(name, value, 0, int.MaxValue, out var r) is { } e3 ? (o, e3) : (o with { Rebuild = TimeSpan.FromMilliseconds(r) }, null);
            case "--service-down-time-ms":
                return Int(name, value, 0, int.MaxValue, out var sdt) is { } e4 ? (o, e4) : (o with { ServiceDownTime = TimeSpan.FromMilliseconds(sdt) }, null);
            case "--cleanup-ms":
                return Int(name, value, 0, int.MaxValue, out var c) is { } e5 ? (o, e5) : (o with { Cleanup = TimeSpan.FromMilliseconds(c) }, null);
            case "--token-ttl-s":
                return Int(name, value, 1, int.MaxValue, out var ttl) is { } e6 ? (o, e6) : (o with { TokenTtl = TimeSpan.FromSeconds(ttl) }, null);
            case "--seed":
                return Int(name, value, int.MinValue, int.MaxValue, out var seed) is { } e7 ? (o, e7) : (o with { Seed = seed }, null);
            case "--max-parallel-rebuilds":
                return Int(name, value, 0, 100_000, out var par) is { } e8 ? (o, e8) : (o with { MaxParallelRebuilds = par }, null);
            case "--region":
                return string.IsNullOrWhiteSpace(value) ? (o, "option '--region' needs a non-empty value") : (o with { Region = value }, null);
            case "--max-microversion":
                return Evacuationd.Simulator.Http.ApiVersion.TryParse(value, out var mv) && mv.Major == 2 && mv.Minor >= 1
                    ? (o with { MaxMicroversion = value }, null)
                    : (o, $"option '--max-microversion': '{value}' is not a version like 2.93");
            case "--fault":
                return FaultSpec.TryParse(value, out var faultError) is { } fault
                    ? (o with { Faults = [.. o.Faults, fault] }, null)
                    : (o, $"option '--fault': {faultError}");
            default:
                return (o, $"unknown option '{name}'");
        }
    }

    private static string? Int(string name, string value, int min, int max, out int result)
    {
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out result) && result >= min && result <= max)
        {
            return null;
        }

        return $"option '{name}': '{value}' is not an integer in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]";
    }

    internal static bool ValidListen(string value) =>
        ListenAddress.TryParse(value, out _);

    private static CommandLineResult Fail(string error) => new(null, error, false);
}
