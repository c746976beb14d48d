using System.Diagnostics.Metrics;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Metrics;
using Evacuationd.Simulator;
using Evacuationd.Simulator.Faults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Nova.Tests;

/// <summary>
/// Every Nova call of the client is recorded by name (evacuationd.nova.call.duration, and
/// evacuationd.nova.errors when it failed), against evacsim. Latencies are measured on the
/// client's clock; a handler moves the fake clock a fixed step per request so they are exact.
/// </summary>
public sealed class NovaMetricsTests : IDisposable
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(125);
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly EvacuationMetrics _metrics;
    private readonly Recorder _recorded;

    public NovaMetricsTests()
    {
        _metrics = new EvacuationMetrics(_services.GetRequiredService<IMeterFactory>());
        _recorded = new Recorder(_metrics.Meter);
    }

    public void Dispose()
    {
        _recorded.Dispose();
        _services.Dispose();
    }

    [Fact]
    public async Task EveryCallIsTimedUnderItsNameWithPagesIncluded()
    {
        await using var bed = await EvacsimTestbed.StartAsync();
        var host = await bed.FreshHostWithInstancesAsync(3);
        using var http = new HttpClient(new ClockHandler(bed.Time, Step));
        using var nova = Client(bed, new NovaClientOptions { PageSize = 2 }, bed.Time, http);

        await nova.MicroversionAsync(None);
        var service = (await nova.FindComputeServiceAsync(host, None))!;
        await bed.KillComputeAsync(host);
        await nova.ForceDownAsync(service, None);
        await nova.DisableAsync(service, "evacuationd: fenced", None);
        await nova.ListComputeServicesAsync(None);
        var servers = await nova.ListServersOnHostAsync(host, None);
        var server = (await nova.GetServerAsync(servers[0].Id, None))!;
        await nova.GetImagePropertiesAsync(server.ImageId!, None);
        await nova.LockAsync(server.Id, "evacuationd: being evacuated", None);
        var outcome = await nova.EvacuateAsync(server.Id, null, None);
        await nova.ListEvacuationMigrationsAsync(server.Id, None);
        await nova.UnlockAsync(server.Id, None);
        await nova.ResetStateAsync(servers[1].Id, "error", None);

        Assert.Equal(EvacuateOutcomeKind.Accepted, outcome.Kind);
        var pages = bed.Cloud.GetRequestLog().Count(r => r.Path.Contains("/servers/detail?", StringComparison.Ordinal));
        Assert.Equal(2, pages); // 3 servers, 2 a page
        Assert.Equal(
            [
                ("version", 0.125), ("find_service", 0.125), ("force_down", 0.125), ("disable_service", 0.125),
                ("list_services", 0.125), ("list_servers", 0.25), ("get_server", 0.125), ("get_image", 0.125),
                ("lock_server", 0.125), ("evacuate", 0.125), ("list_migrations", 0.125), ("unlock_server", 0.125),
                ("reset_state", 0.125),
            ],
            _recorded.Durations());
        Assert.Empty(_recorded.Errors());
    }

    [Fact]
    public async Task FailedCallsAreCountedByNameAndStillTimed()
    {
        await using var bed = await EvacsimTestbed.StartAsync();
        var host = await bed.FreshHostWithInstancesAsync(1);
        using var nova = Client(bed, new NovaClientOptions { IdempotentTries = 1 });
        var service = (await nova.FindComputeServiceAsync(host, None))!;
        bed.Cloud.SetFaults([new FaultSpec { Kind = FaultKinds.RefuseForceDown, Host = host }]);

        var refused = await Assert.ThrowsAsync<ComputeException>(() => nova.ForceDownAsync(service, None));
        var missing = await nova.GetServerAsync(Guid.NewGuid().ToString(), None);
        var rejected = await nova.EvacuateAsync(Guid.NewGuid().ToString(), null, None);

        Assert.Equal(500, refused.StatusCode);
        Assert.Null(missing); // a 404 answer is an answer: not a failed call
        Assert.Equal(EvacuateOutcomeKind.Rejected, rejected.Kind);
        Assert.Equal(["version", "find_service", "force_down", "get_server", "evacuate"], _recorded.Durations().Select(d => d.Call));
        Assert.All(_recorded.Durations(), d => Assert.True(d.Seconds >= 0));
        Assert.Equal(["force_down", "evacuate"], _recorded.Errors());
    }

    [Fact]
    public async Task ANovaTooOldFailsTheNegotiationAndTheCallThatNeededIt()
    {
        await using var bed = await EvacsimTestbed.StartAsync(new SimulatorOptions { MaxMicroversion = "2.50" });
        using var nova = Client(bed, new NovaClientOptions());

        await Assert.ThrowsAsync<ComputeException>(() => nova.FindComputeServiceAsync("spare-01", None));

        Assert.Equal(["version", "find_service"], _recorded.Durations().Select(d => d.Call));
        Assert.Equal(["version", "find_service"], _recorded.Errors());
    }

    [Fact]
    public async Task ACallItsCallerCancelledIsNotRecorded()
    {
        await using var bed = await EvacsimTestbed.StartAsync();
        using var nova = Client(bed, new NovaClientOptions());
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => nova.FindComputeServiceAsync("spare-01", cancelled.Token));
        await nova.FindComputeServiceAsync("spare-01", None);

        Assert.Equal(["version", "find_service"], _recorded.Durations().Select(d => d.Call));
        Assert.Empty(_recorded.Errors());
    }

    /// <summary>A client recording into this test's metrics; the caller disposes it.</summary>
    private NovaComputeClient Client(EvacsimTestbed bed, NovaClientOptions options, TimeProvider? time = null, HttpClient? http = null)
    {
        options.AuthUrl = bed.Simulator.IdentityUrl.ToString();
        options.Username = "admin";
        options.Password = "secret";
        options.ProjectName = "admin";
        return new NovaComputeClient(options, time ?? TimeProvider.System, http, metrics: _metrics);
    }

    /// <summary>Moves the fake clock one step while each Nova or Glance request is under way (Keystone's take no time).</summary>
    private sealed class ClockHandler(FakeTimeProvider time, TimeSpan step) : DelegatingHandler(new HttpClientHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path.StartsWith("/compute", StringComparison.Ordinal) || path.StartsWith("/image", StringComparison.Ordinal))
            {
                time.Advance(step);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>The measurements of one meter's Nova instruments, in order.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Call, double Seconds)> _durations = [];
        private readonly List<string> _errors = [];

        public Recorder(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter && instrument.Name is "evacuationd.nova.call.duration" or "evacuationd.nova.errors")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                lock (_durations)
                {
                    _durations.Add((Call(tags), value));
                }
            });
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                lock (_durations)
                {
                    for (var i = 0; i < value; i++)
                    {
                        _errors.Add(Call(tags));
                    }
                }
            });
            _listener.Start();
        }

        public List<(string Call, double Seconds)> Durations()
        {
            lock (_durations)
            {
                return [.. _durations];
            }
        }

        public List<string> Errors()
        {
            lock (_durations)
            {
                return [.. _errors];
            }
        }

        public void Dispose() => _listener.Dispose();

        private static string Call(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var (key, value) in tags)
            {
                if (key == "call")
                {
                    return (string)value!;
                }
            }
            throw new InvalidOperationException("a Nova measurement without its call");
        }
    }
}
