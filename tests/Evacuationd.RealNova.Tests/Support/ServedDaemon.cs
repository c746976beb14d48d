using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Evacuationd.RealNova.Tests.Support;

/// <summary>
/// One <c>evacuationd serve</c> process as an operator runs it: its own working directory with
/// clouds.yaml, a plaintext loopback gRPC listener, a shared etcd prefix. Killed with SIGKILL
/// (a crash) or stopped with SIGTERM.
/// </summary>
public sealed class ServedDaemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServedDaemon(string id, string address, Process process)
    {
        Id = id;
        Address = address;
        _process = process;
        Channel = GrpcChannel.ForAddress(address);
    }

    public string Id { get; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Address { get; }

    public GrpcChannel Channel { get; }

    public bool Exited => _process.HasExited;

    /// <summary>What the daemon wrote so far (stdout and stderr).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<ServedDaemon> StartAsync(string id, string workDir, IEnumerable<string> settings)
    {
        var address = $"http://127.0.0.1:{FreePort()}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workDir, // ./clouds.yaml: OpenStack's lookup order
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "evacuationd.dll"), "serve", $"--Grpc:Listen={address}", $"--Engine:DaemonId={id}" }.Concat(settings))
        {
            start.ArgumentList.Add(a);
        }
        var process = Process.Start(start)!;
        var daemon = new ServedDaemon(id, address, process);
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await daemon.UntilServingAsync(TimeSpan.FromSeconds(60));
        return daemon;
    }

    /// <summary>SIGKILL: the daemon dies mid-work; its lease lapses after its TTL.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15); // SIGTERM: graceful, revokes the lease
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
        }
        Channel.Dispose();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    /// <summary>Polls gRPC health of the started process (a real external process), with a deadline.</summary>
    private async Task UntilServingAsync(TimeSpan deadline)
    {
        var health = new Health.HealthClient(Channel);
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"evacuationd {Id} exited while starting:\n{Log}");
            }
            try
            {
                var status = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (status.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException) when (DateTime.UtcNow < until)
            {
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"evacuationd {Id} did not report SERVING within {deadline}:\n{Log}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
