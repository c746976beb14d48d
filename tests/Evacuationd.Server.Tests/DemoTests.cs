using Evacuationd.Core.Records;
using Evacuationd.Server.Demo;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Server.Tests;

/// <summary>The demo is the product's first promise: run it and check what it found.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task DemoKillsTheBusiestDaemonAndEveryInstanceEndsEvacuatedExactlyOnce()
    {
        var output = new StringWriter();
        var runner = new DemoRunner(DemoScenario.Fast, output, NullLoggerFactory.Instance, _ => { });

        int exit;
        try
        {
            exit = await runner.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
            Assert.Fail("the demo did not end within 2 minutes; its output so far:\n" + output);
            throw;
        }

        var result = runner.Result!;
        Assert.True(exit == 0, output.ToString());
        Assert.NotNull(result.KilledDaemon);
        Assert.Equal(0, result.DuplicateEvacuations);
        Assert.Contains(result.Instances, i => i.Orphaned);
        // Records the killed daemon owned were finished by another daemon.
        Assert.All(result.Instances.Where(i => i.Orphaned), i =>
        {
            Assert.Equal(RecordState.Done, i.Record.State);
            Assert.Contains(i.Daemons, d => d != result.KilledDaemon);
        });
        var evacuated = result.Instances.Where(i => i.Record.State == RecordState.Done).ToList();
        Assert.Equal(DemoScenario.Fast.InstancesPerHost + 1, evacuated.Count); // + the one in ERROR
        Assert.All(evacuated, i =>
        {
            Assert.Equal(1, i.EvacuateCalls);
            Assert.NotEqual(result.FencedHost, i.SimHost);
            Assert.Equal("active", i.SimVmState);
            Assert.Equal(i.SimHost, i.Record.DestinationHost);
        });
        var skipped = Assert.Single(result.Instances, i => i.Record.State == RecordState.Skipped);
        Assert.Contains("paused", skipped.Record.Reason, StringComparison.Ordinal);
        Assert.Equal(result.FencedHost, skipped.SimHost);
        Assert.Contains("demo passed", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("KILL ", output.ToString(), StringComparison.Ordinal);
        // A scrape of /metrics during the run shows the histograms filled.
        Assert.Equal(evacuated.Count, result.Histogram("evacuationd_fence_to_first_evacuate_seconds").Count);
        Assert.Equal(result.Instances.Count, result.Histogram("evacuationd_fence_to_done_seconds").Count);
        Assert.True(result.Histogram("evacuationd_nova_call_duration_seconds").Count > evacuated.Count * 2);
        Assert.Contains("evacuationd_fence_to_done_seconds_bucket{", result.MetricsScrape, StringComparison.Ordinal);
        // Records by state, as a live daemon sees the store.
        Assert.Contains(result.MetricsScrape!.Split('\n'), l => l.StartsWith("evacuationd_records{", StringComparison.Ordinal)
            && l.Contains("state=\"done\"", StringComparison.Ordinal) && l.EndsWith($" {evacuated.Count}", StringComparison.Ordinal));
    }
}
