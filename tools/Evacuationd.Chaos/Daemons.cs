using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Chaos;

/// <summary>
/// One <c>evacuationd serve</c> (daemon dN) in its own network namespace, restartable: each
/// start is a new process appending to the same log, with the same configuration and id.
/// </summary>
internal sealed class Daemon(int n, Topology topology, string program, string directory) : IDisposable
{
    public int N { get; } = n;

    public string Id => $"d{N.ToString(CultureInfo.InvariantCulture)}";

    public string Log => Path.Combine(directory, "serve.log");

    public string Config => Path.Combine(directory, "evacuationd.json");

    public ChildProcess? Process { get; private set; }

    public int Starts { get; private set; }

    public bool Running => Process is { HasExited: false };

    public void Start()
    {
        Process?.Dispose();
        Starts++;
        File.AppendAllText(Log, $"\n===== chaos: start {Starts} of {Id} at {DateTimeOffset.UtcNow:O}\n");
        Process = ChildProcess.Start(program, ["serve", "--config", Config], Log, topology.DaemonNamespace(N),
            new Dictionary<string, string> { ["EVACUATIOND__Nova__Password"] = "chaos-password", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
            directory);
    }

    /// <summary>Waits until the daemon answers gRPC and says its engine runs under a lease.</summary>
    public async Task WaitReadyAsync(DaemonApi api, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Process is null || Process.HasExited)
            {
                throw new InvalidOperationException($"{Id} exited while starting:\n{Files.Tail(Log, 40)}");
            }
            try
            {
                var check = await api.Fencer(N).CheckAsync(new CheckRequest(), deadline: DateTime.UtcNow.AddSeconds(3));
                if (check.Ready)
                {
                    return;
                }
            }
            catch (RpcException)
            {
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"{Id} did not become ready within {timeout.TotalSeconds:0} s:\n{Files.Tail(Log, 40)}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>The daemon's configuration file: etcd, evacsim's Keystone, mutual TLS, short timings.</summary>
    public void WriteConfig(string etcdEndpoints, string authUrl, string pki, Timings t)
    {
        Directory.CreateDirectory(directory);
        static string D(TimeSpan s) => s.ToString("c", CultureInfo.InvariantCulture);
        var config = new JsonObject
        {
            ["Etcd"] = new JsonObject { ["Endpoints"] = etcdEndpoints, ["Prefix"] = Keys.Prefix },
            ["Nova"] = new JsonObject
            {
                ["AuthUrl"] = authUrl, ["Username"] = "chaos", ["ProjectName"] = "admin",
                ["CallTimeout"] = D(t.CallTimeout), ["EvacuateTimeout"] = D(t.EvacuateTimeout),
            },
            ["Grpc"] = new JsonObject
            {
                ["Listen"] = Topology.GrpcUrl(N),
                ["CertFile"] = Path.Combine(pki, "server.pem"),
                ["KeyFile"] = Path.Combine(pki, "server-key.pem"),
                ["ClientCaFile"] = Path.Combine(pki, "ca.pem"),
            },
            ["Engine"] = new JsonObject
            {
                ["DaemonId"] = Id,
                ["LeaseTtl"] = D(t.LeaseTtl),
                ["KeepAliveInterval"] = D(t.KeepAlive),
                ["NovaUnreachableLimit"] = "00:03:00",
                ["Workflow"] = new JsonObject
                {
                    ["PollInterval"] = "00:00:01",
                    ["BackoffBase"] = "00:00:02",
                    ["BackoffMax"] = "00:00:10",
                    ["CallSettle"] = D(t.CallSettle),
                    ["RebuildTimeout"] = D(t.RebuildTimeout),
                    ["TaskStateTimeout"] = "00:01:00",
                },
                ["Policy"] = new JsonObject
                {
                    ["MaxHostsInWindow"] = t.MaxHostsInWindow,
                    ["MaxSharePercent"] = t.MaxSharePercent,
                    ["Window"] = D(t.BlastWindow),
                },
            },
        };
        File.WriteAllText(Config, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public void Dispose() => Process?.Dispose();
}
