using System.Globalization;
using Evacuationd.Core.Compute;
using Evacuationd.Nova;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Model;
using Evacuationd.Testing.Compute;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Nova.Tests;

/// <summary>evacsim on loopback with a fake clock; each test gets fresh hosts.</summary>
internal sealed class EvacsimTestbed : IComputeTestbed
{
    private readonly List<NovaComputeClient> _clients = [];
    private int _nextHost;

    private EvacsimTestbed(FakeTimeProvider time, SimulatedCloud cloud, RunningSimulator simulator)
    {
        Time = time;
        Cloud = cloud;
        Simulator = simulator;
    }

    public FakeTimeProvider Time { get; }

    public SimulatedCloud Cloud { get; }

    public RunningSimulator Simulator { get; }

    public TimeSpan EvacuationBudget => TimeSpan.FromSeconds(30);

    public static async Task<EvacsimTestbed> StartAsync(SimulatorOptions? options = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        var cloud = new SimulatedCloud((options ?? new SimulatorOptions()) with { Rebuild = TimeSpan.FromSeconds(1), Listen = "http://127.0.0.1:0" }, time);
        // Two spare hosts to receive evacuated instances.
        cloud.AddHost("spare-01");
        cloud.AddHost("spare-02");
        var simulator = await SimulatorHost.StartAsync(cloud, "http://127.0.0.1:0");
        return new EvacsimTestbed(time, cloud, simulator);
    }

    public IComputeClient Client(int pageSize = 500) => NovaClient(new NovaClientOptions { PageSize = pageSize });

    /// <summary>A client with Keystone password auth against evacsim; options given are kept.</summary>
    public NovaComputeClient NovaClient(NovaClientOptions options, TimeProvider? clientTime = null, HttpClient? http = null)
    {
        options.AuthUrl ??= Simulator.IdentityUrl.ToString();
        options.Username ??= "admin";
        options.Password ??= "secret";
        options.ProjectName ??= "admin";
        var client = new NovaComputeClient(options, clientTime ?? TimeProvider.System, http);
        _clients.Add(client);
        return client;
    }

    public Task<string> FreshHostWithInstancesAsync(int instances)
    {
        var host = "compute-" + Interlocked.Increment(ref _nextHost).ToString("00", CultureInfo.InvariantCulture);
        Cloud.AddHost(host);
        for (var i = 1; i <= instances; i++)
        {
            Cloud.AddInstance(host, $"vm-{host}-{i:00}");
        }
        return Task.FromResult(host);
    }

    public Task KillComputeAsync(string host)
    {
        Cloud.PowerOff(host);
        return Task.CompletedTask;
    }

    public Task RestartComputeAsync(string host)
    {
        Cloud.PowerOn(host);
        return Task.CompletedTask;
    }

    public Task LetTimePassAsync(TimeSpan duration)
    {
        Time.Advance(duration);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }
        await Simulator.DisposeAsync();
    }
}
