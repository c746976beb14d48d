using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Cli.Tests;

public class FenceCommandTests
{
    [Fact]
    public async Task FenceReportsCreatedThenDuplicate()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var first = await CliRun.AgainstAsync(daemon, "fence", "compute-05", "--confirm-powered-off", "--reason", "BMC shows power off");
        var second = await CliRun.AgainstAsync(daemon, "fence", "compute-05", "--confirm-powered-off");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Matches(@"^Evacuation:\s+compute-05:7$", first.Lines[0]);
        Assert.Matches(@"^Generation:\s+7$", first.Lines[1]);
        Assert.Matches(@"^Outcome:\s+created$", first.Lines[2]);
        Assert.Matches(@"^Message:\s+fencing recorded; evacuation starts$", first.Lines[3]);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Matches(@"^Evacuation:\s+compute-05:7$", second.Lines[0]);
        Assert.Matches(@"^Outcome:\s+duplicate$", second.Lines[2]);

        var request = fake.FenceRequests.First();
        Assert.True(request.ConfirmPoweredOff);
        Assert.Equal("compute-05", request.Host);
        Assert.Equal("BMC shows power off", request.Reason);
    }

    [Fact]
    public async Task FenceJsonIsTheResponseObject()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "-o", "json", "fence", "compute-06", "--confirm-powered-off");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal("compute-06:7", json.GetProperty("evacuationId").GetString());
        Assert.Equal("7", json.GetProperty("fenceGeneration").GetString());
        Assert.Equal("FENCE_OUTCOME_CREATED", json.GetProperty("outcome").GetString());
        Assert.Equal("fencing recorded; evacuation starts", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task FenceWithoutConfirmationIsAUsageErrorAndCallsNothing()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, "fence", "compute-05", "--reason", "looks dead");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--confirm-powered-off", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("powered off", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
        Assert.Equal(0, fake.Calls);
    }

    [Fact]
    public async Task FenceOfAHostUnknownToNovaPrintsTheDaemonsMessageAndExits1()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "fence", "compute-99", "--confirm-powered-off");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("evacctl: fence compute-99: NotFound: host 'compute-99' is not a Nova compute host", result.Stderr.Trim());
    }
}
