using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Cli.Tests;

public class HostAndDaemonTests
{
    [Fact]
    public async Task HostsTableShowsStateSourceFencingTimeAndCounts()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "hosts");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines;
        Assert.Matches(@"^HOST\s+GEN\s+STATE\s+SOURCE\s+FENCED\s+TOTAL\s+DONE\s+IN-FLIGHT\s+FAILED\s+SKIPPED\s+REASON$", lines[0]);
        Assert.Matches(@"^compute-01\s+1\s+evacuating\s+fence-agent\s+2025-03-01 12:00:00Z\s+4\s+1\s+1\s+1\s+1\s+fenced by pacemaker node ctl-1$", lines[1]);
        Assert.Matches(@"^compute-03\s+1\s+done\s+fence-agent\s+2025-03-01 11:50:00Z\s+2\s+2\s+0\s+0\s+0\s+every record ended: 2 done$", lines[2]);
        Assert.Matches(@"^compute-04\s+2\s+held\s+operator\s+2025-03-01 12:00:45Z\s+1\s+0\s+0\s+0\s+0\s+held by the blast-radius guard", lines[3]);
    }

    [Fact]
    public async Task HostsShowsEveryHeldHostWithItsWholeReasonBelowTheTable()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());
        var heldReason = CannedData.Hosts().Single(h => h.Name == "compute-04").Reason;

        // On a terminal the table cuts reasons; the held section never does.
        var result = await CliRun.AgainstAsync(daemon, CliRun.Environment(terminal: true), "hosts");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines;
        Assert.Equal(6, lines.Length);
        Assert.Equal(HostOutputHint, lines[4]);
        Assert.Equal($"  compute-04  {heldReason}", lines[5]);
        Assert.Contains("\n\n" + HostOutputHint, result.Stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostsWithoutAHeldHostHasNoHeldSection()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        await CliRun.AgainstAsync(daemon, "confirm", "compute-04");
        var result = await CliRun.AgainstAsync(daemon, "hosts");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(4, result.Lines.Length);
        Assert.DoesNotContain("Held", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostsJsonIsAnArrayOfHostsWithTheHeldReason()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "hosts", "-o", "json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var hosts = result.Json().EnumerateArray().ToList();
        Assert.Equal(["compute-01", "compute-03", "compute-04"], hosts.Select(h => h.GetProperty("name").GetString()));
        Assert.Equal("HOST_STATE_HELD", hosts[2].GetProperty("state").GetString());
        Assert.StartsWith("held by the blast-radius guard", hosts[2].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("FENCE_SOURCE_OPERATOR", hosts[2].GetProperty("source").GetString());
        Assert.Equal(0, hosts[2].GetProperty("counts").GetProperty("done").GetInt32());
        Assert.Equal(1, hosts[2].GetProperty("counts").GetProperty("accepted").GetInt32());
        Assert.False(hosts[0].GetProperty("forcedDown").GetBoolean());
        Assert.True(hosts[1].GetProperty("forcedDown").GetBoolean());
        Assert.DoesNotContain("Held", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hosts", "no host has been fenced")]
    [InlineData("list", "no record matches")]
    [InlineData("daemons", "no live daemon")]
    public async Task EmptyListsSaySoInTableAndAreEmptyArraysInJson(string command, string sentence)
    {
        await using var daemon = await TestDaemon.StartAsync(new EmptyOperator());

        var table = await CliRun.AgainstAsync(daemon, command);
        var json = await CliRun.AgainstAsync(daemon, command, "-o", "json");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal([sentence], table.Lines);
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal(0, json.Json().GetArrayLength());
    }

    private const string HostOutputHint = "Held, waiting for an operator (`evacctl confirm HOST` lets one go on, `evacctl resume` all):";

    [Fact]
    public async Task DaemonsTableShowsLeaseInHexAndWhenItExpires()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "daemons");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines;
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^DAEMON\s+ADDRESS\s+LEASE\s+LEASE-EXPIRES\s+OWNED\s+STARTED", lines[0]);
        Assert.Matches(@"^daemon-a\s+10\.0\.0\.11:50077\s+694d8a1c2b3e4f10\s+2025-03-01 12:00:07Z \(in 7s\)\s+3\s+2025-03-01 11:00:00Z\s+0\.1\.0$", lines[1]);
        Assert.Matches(@"^daemon-b\s+10\.0\.0\.12:50077\s+1f\s+2025-03-01 12:00:09Z \(in 9s\)\s+0\s+", lines[2]);
    }

    [Fact]
    public async Task DaemonsJsonIsAnArrayWithDefaultsIncluded()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.AgainstAsync(daemon, "-o", "json", "daemons");

        Assert.True(result.ExitCode == 0, result.ToString());
        var daemons = result.Json().EnumerateArray().ToList();
        Assert.Equal(2, daemons.Count);
        Assert.Equal("daemon-a", daemons[0].GetProperty("id").GetString());
        Assert.Equal(0x694d8a1c2b3e4f10.ToString(System.Globalization.CultureInfo.InvariantCulture), daemons[0].GetProperty("leaseId").GetString());
        Assert.Equal(0, daemons[1].GetProperty("ownedRecords").GetInt32());
        Assert.Equal("2025-03-01T12:00:09Z", daemons[1].GetProperty("leaseExpiresAt").GetString());
    }
}
