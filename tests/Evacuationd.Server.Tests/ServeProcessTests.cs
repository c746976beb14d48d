using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Evacuationd.Contracts.V1;
using Evacuationd.Etcd;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;
using Evacuationd.Testing.Etcd;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Evacuationd.Server.Tests;

/// <summary>
/// `evacuationd serve` as an operator runs it: a separate process, a real etcd, Nova found
/// through clouds.yaml (+ secure.yaml) pointing at evacsim, stopped with SIGTERM.
/// </summary>
public sealed class ServeProcessTests(EtcdSingleFixture etcd) : IClassFixture<EtcdSingleFixture>
{
    [Fact]
    public async Task ServeWithCloudsYamlEvacuatesAFencedHostAndLeavesCleanlyOnSigterm()
    {
        var cloud = SimulatedCloud.CreatePopulated(new SimulatorOptions { Hosts = 3, InstancesPerHost = 3, Rebuild = TimeSpan.FromMilliseconds(500) });
        await using var sim = await SimulatorHost.StartAsync(cloud, "http://127.0.0.1:0");
        var dir = Directory.CreateTempSubdirectory("evacuationd-serve-").FullName;
        File.WriteAllText(Path.Combine(dir, "clouds.yaml"), $"clouds:\n  sim:\n    auth:\n      auth_url: {sim.BaseUrl}identity\n      username: admin\n      project_name: admin\n");
        File.WriteAllText(Path.Combine(dir, "secure.yaml"), "clouds:\n  sim:\n    auth:\n      password: kept-apart\n");
        var prefix = etcd.NewKeyPrefix();
        var listen = $"http://127.0.0.1:{FreePort()}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dir, // ./clouds.yaml and ./secure.yaml: OpenStack's lookup order
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "evacuationd.dll"), "serve",
            $"--Etcd:Endpoints={etcd.ClientUrls}", $"--Etcd:Prefix={prefix}", "--Nova:Cloud=sim", $"--Grpc:Listen={listen}",
            "--Engine:DaemonId=served-1", "--Engine:LeaseTtl=00:00:05", "--Engine:KeepAliveInterval=00:00:01",
        })
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(listen);
            await UntilServingAsync(channel, process, TimeSpan.FromSeconds(60));
            cloud.PowerOff("compute-01");

            var fenced = await new Operator.OperatorClient(channel).FenceHostAsync(new FenceHostRequest { Host = "compute-01", ConfirmPoweredOff = true });
            using var watch = new Operator.OperatorClient(channel).WatchRecords(new WatchRecordsRequest { Host = "compute-01", UntilDone = true });
            var last = new Dictionary<string, Contracts.V1.Record>();
            await foreach (var e in watch.ResponseStream.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
            {
                if (e.Record is not null)
                {
                    last[e.Record.Id] = e.Record;
                }
            }

            Assert.Equal(FenceOutcome.Created, fenced.Outcome);
            Assert.Equal(3, last.Count);
            Assert.All(last.Values, r => Assert.Equal(RecordState.Done, r.State));
            Assert.Equal(0, cloud.GetStats().DuplicateEvacuations);
            Assert.All(last.Values, r => Assert.Equal(1, cloud.GetStats().EvacuateCalls[r.InstanceUuid]));
        }
        finally
        {
            Signal.Term(process.Id);
            if (!process.WaitForExit(30_000))
            {
                process.Kill();
            }
            Directory.Delete(dir, recursive: true);
        }
        var log = await output + await errors;
        Assert.True(process.ExitCode == 0, log);
        Assert.DoesNotContain("kept-apart", log, StringComparison.Ordinal); // secrets never logged
        // A graceful stop revoked the lease: the daemon is gone from etcd at once.
        using var store = new EtcdEvacuationStore(new EtcdOptions { Endpoints = etcd.ClientUrls, Prefix = prefix }, TimeProvider.System);
        Assert.DoesNotContain(await store.ListDaemonsAsync(CancellationToken.None), d => d.Id == "served-1");
    }

    /// <summary>Polls gRPC health of the started process (a real external process), with a deadline.</summary>
    private static async Task UntilServingAsync(GrpcChannel channel, Process process, TimeSpan deadline)
    {
        var health = new Health.HealthClient(channel);
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            Assert.False(process.HasExited, "evacuationd exited while starting");
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
            Assert.True(DateTime.UtcNow < until, "evacuationd did not report SERVING in time");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static class Signal
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int Kill(int pid, int signal);

        public static void Term(int pid)
        {
            if (Kill(pid, 15) != 0)
            {
                throw new InvalidOperationException($"kill -TERM {pid} failed");
            }
        }
    }
}
