using System.Diagnostics;

namespace Evacuationd.RealNova.Tests.Support;

/// <summary>
/// The real Nova started by <c>tests/real-nova/start.sh</c>, found through
/// <c>EVACUATIOND_TEST_NOVA</c> (its BASE directory, holding <c>env</c> and <c>clouds.yaml</c>).
/// Without it every test here fails with a message saying how to start one (never skips).
/// </summary>
public sealed class RealNovaCloud
{
    public const string Variable = "EVACUATIOND_TEST_NOVA";

    private static readonly Lazy<RealNovaCloud> Shared = new(Find);

    private RealNovaCloud(string baseDir, IReadOnlyDictionary<string, string> env, string scripts)
    {
        BaseDir = baseDir;
        NovaUrl = new Uri(Required(env, "NOVA_URL").TrimEnd('/') + "/");
        KeystoneUrl = Required(env, "KEYSTONE_URL").TrimEnd('/');
        Hosts = Required(env, "COMPUTES").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Scripts = scripts;
    }

    public static RealNovaCloud Current => Shared.Value;

    /// <summary>BASE of the stack: logs/, pids/, clouds.yaml.</summary>
    public string BaseDir { get; }

    /// <summary>nova-api's compute endpoint, ending in <c>/v2.1/</c>.</summary>
    public Uri NovaUrl { get; }

    /// <summary>The Keystone v3 stub (password auth for any user; token <c>user:project</c>).</summary>
    public string KeystoneUrl { get; }

    /// <summary>Every nova-compute host of the stack.</summary>
    public IReadOnlyList<string> Hosts { get; }

    /// <summary>tests/real-nova of this checkout.</summary>
    public string Scripts { get; }

    public string CloudsYaml => Path.Combine(BaseDir, "clouds.yaml");

    /// <summary>The cloud's name in <see cref="CloudsYaml"/>.</summary>
    public const string CloudName = "evacd-nova";

    /// <summary>SIGKILLs the host's nova-compute (the host died; its service stays "up" in Nova until forced down).</summary>
    public Task KillComputeAsync(string host) => ComputeAsync("kill", host);

    /// <summary>Starts the host's nova-compute again; it cleans up what was evacuated from it.</summary>
    public Task StartComputeAsync(string host) => ComputeAsync("start", host);

    private async Task ComputeAsync(string verb, string host)
    {
        var start = new ProcessStartInfo(Path.Combine(Scripts, "compute.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(verb);
        start.ArgumentList.Add(host);
        start.Environment["BASE"] = BaseDir;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"compute.sh {verb} {host} exited {process.ExitCode}: {await output}{await errors}");
        }
    }

    private static RealNovaCloud Find()
    {
        var baseDir = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(baseDir))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set: these tests need the real Nova of tests/real-nova. Start it with " +
                "`tests/real-nova/install.sh && BASE=/tmp/evacd-nova tests/real-nova/start.sh`, then set " +
                $"{Variable}=/tmp/evacd-nova (scripts/test.sh's real-Nova tier does all of this).");
        }
        var envFile = Path.Combine(baseDir, "env");
        if (!File.Exists(envFile))
        {
            throw new InvalidOperationException($"{Variable}={baseDir}: no {envFile}; is the stack of tests/real-nova/start.sh running there?");
        }
        return new RealNovaCloud(baseDir, ReadEnv(envFile), FindScripts());
    }

    /// <summary>Reads the KEY=VALUE lines of start.sh's env file (a shell file: export and quotes allowed).</summary>
    private static Dictionary<string, string> ReadEnv(string path)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].Trim();
            }
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }
            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && (value[0] is '"' or '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }
            env[line[..eq]] = value;
        }
        return env;
    }

    private static string Required(IReadOnlyDictionary<string, string> env, string key) =>
        env.TryGetValue(key, out var value) && value.Length > 0
            ? value
            : throw new InvalidOperationException($"the real-Nova env file has no {key}");

    private static string FindScripts()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var scripts = Path.Combine(dir.FullName, "tests", "real-nova");
            if (File.Exists(Path.Combine(scripts, "compute.sh")))
            {
                return scripts;
            }
        }
        throw new InvalidOperationException($"tests/real-nova/compute.sh not found above {AppContext.BaseDirectory}");
    }
}
