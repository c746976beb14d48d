using System.Text.Json;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Server.Embedded;

namespace Evacuationd.Cli.Tests;

/// <summary>
/// evacctl against the real daemon surface: the embedded default that <c>evacuationd dev</c>
/// serves (three daemons, in-memory store, evacsim over HTTP).
/// </summary>
public sealed class EmbeddedEndToEndTests : IAsyncLifetime
{
    private EmbeddedCloud _cloud = null!;

    private string Server => _cloud.GrpcAddress.ToString();

    public async Task InitializeAsync() => _cloud = await QuickCloud.StartAsync(hosts: 3, instancesPerHost: 3, TimeSpan.FromMilliseconds(300));

    public async Task DisposeAsync() => await _cloud.DisposeAsync();

    [Fact]
    public async Task FenceThenWatchShowsEveryInstanceReachDoneAndShowExplainsEachTransition()
    {
        var fence = await CliRun.RunAsync("--server", Server, "fence", "compute-02", "--confirm-powered-off", "--reason", "e2e");
        Assert.True(fence.ExitCode == 0, fence.ToString());
        Assert.Contains("compute-02:1", fence.Stdout, StringComparison.Ordinal);

        var watch = await CliRun.RunAsync("--server", Server, "watch", "--host", "compute-02").WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(watch.ExitCode == 0, watch.ToString());
        var final = watch.Lines
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("record", out _))
            .GroupBy(e => e.GetProperty("record").GetProperty("id").GetString())
            .Select(g => g.Last().GetProperty("record"))
            .ToList();
        Assert.Equal(3, final.Count);
        Assert.All(final, r => Assert.Equal("done", r.GetProperty("stateName").GetString()));

        var list = await CliRun.RunAsync("--server", Server, "-o", "json", "list", "--host", "compute-02", "--state", "done");
        Assert.Equal(0, list.ExitCode);
        var records = list.Json().EnumerateArray().ToList();
        Assert.Equal(3, records.Count);
        var id = records[0].GetProperty("id").GetString()!;

        var show = await CliRun.RunAsync("--server", Server, "show", id);
        Assert.Equal(0, show.ExitCode);
        foreach (var step in new[] { "accepted", "accepted -> evacuating", "evacuating -> rebuilding", "rebuilding -> done" })
        {
            Assert.Contains(step, show.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("Nova accepted attempt 1", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("Nova rebuilt the instance on", show.Stdout, StringComparison.Ordinal);

        var hosts = await CliRun.RunAsync("--server", Server, "-o", "json", "hosts");
        var host = Assert.Single(hosts.Json().EnumerateArray());
        Assert.Equal("done", host.GetProperty("stateName").GetString());
        Assert.Equal(3, host.GetProperty("counts").GetProperty("done").GetInt32());

        var daemons = await CliRun.RunAsync("--server", Server, "-o", "json", "daemons");
        Assert.Equal(3, daemons.Json().GetArrayLength());
    }

    [Fact]
    public async Task FencingAnUnknownHostFailsWithNovasAnswerAndRetryOfAnUnknownRecordIsNotFound()
    {
        var fence = await CliRun.RunAsync("--server", Server, "fence", "compute-42", "--confirm-powered-off");
        var retry = await CliRun.RunAsync("--server", Server, "retry", "compute-01:1:00000000");

        Assert.Equal(1, fence.ExitCode);
        Assert.Contains("NotFound", fence.Stderr, StringComparison.Ordinal);
        Assert.Contains("compute-42", fence.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, retry.ExitCode);
        Assert.Contains("NotFound", retry.Stderr, StringComparison.Ordinal);
        Assert.Contains("compute-01:1:00000000", retry.Stderr, StringComparison.Ordinal);
    }
}
