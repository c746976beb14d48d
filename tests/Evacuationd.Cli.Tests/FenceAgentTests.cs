using System.Xml.Linq;
using Evacuationd.Cli.FenceAgent;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Contracts.V1;
using Evacuationd.Testing.Time;
using Grpc.Core;

namespace Evacuationd.Cli.Tests;

/// <summary>
/// <c>evacctl fence-agent</c>: the fence-agents protocol (stdin, flags, metadata, exit codes)
/// and its failure paths against a scripted Fencing service. Against the real daemon:
/// <see cref="FenceAgentDaemonTests"/>; under a real Pacemaker: the Pacemaker tier.
/// </summary>
public sealed class FenceAgentTests
{
    [Fact]
    public async Task MetadataIsFenceAgentXmlDeclaringPortPlugOurParametersAndTheActions()
    {
        // Pacemaker runs metadata with nothing else configured; garbage alongside must not matter.
        var result = await AgentRun.StdinAsync("action=metadata", "bogus=1", "timeout=never");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        var agent = XDocument.Parse(result.Stdout).Root!;
        Assert.Equal("resource-agent", agent.Name.LocalName);
        Assert.Equal("fence_evacuationd", (string?)agent.Attribute("name"));
        var parameters = agent.Element("parameters")!.Elements("parameter").ToDictionary(p => (string)p.Attribute("name")!);
        Assert.Equal(
            ["action", "plug", "port", "nodename", "server", "ca_file", "cert_file", "key_file", "timeout", "domain", "verbose", "debug_file"],
            parameters.Keys);
        Assert.Equal("1", (string?)parameters["server"].Attribute("required"));
        Assert.Equal("port", (string?)parameters["plug"].Attribute("obsoletes"));
        Assert.Equal("-o, --action=[action]", (string?)parameters["action"].Element("getopt")!.Attribute("mixed"));
        Assert.Equal("second", (string?)parameters["timeout"].Element("content")!.Attribute("type"));
        Assert.Equal("20", (string?)parameters["timeout"].Element("content")!.Attribute("default"));
        Assert.All(parameters.Values, p => Assert.False(string.IsNullOrWhiteSpace(p.Element("shortdesc")?.Value)));
        var actions = agent.Element("actions")!.Elements("action").ToDictionary(a => (string)a.Attribute("name")!);
        Assert.Equal(["on", "off", "reboot", "status", "list", "monitor", "metadata", "validate-all"], actions.Keys);
        Assert.Equal("0", (string?)actions["on"].Attribute("automatic"));
    }

    [Fact]
    public async Task MetadataDoesNotFailWhenTheDebugFileCannotBeWritten()
    {
        var result = await AgentRun.StdinAsync("action=metadata", "debug_file=/proc/evacuationd-cannot-write-here/agent.log");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("<?xml", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAllAcceptsGoodParametersInAnyOrderWithCommentsAndBlankLines()
    {
        var result = await AgentRun.StdinAsync(
            "# written by the fencer", "", "timeout = 7.5", "server=https://10.0.0.5:50443, https://10.0.0.6:50443",
            "domain=.cloud.example", "verbose=yes", "action=validate-all", "pcmk_host_list=compute-1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("parameters are valid: 2 server(s), timeout 7.5s", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAllNamesEveryBadParameter()
    {
        var result = await AgentRun.StdinAsync(
            "action=validate-all", "server=https://10.0.0.5:50443,ftp://10.0.0.6", "timeout=0", "colour=blue",
            "port=compute 1", "domain=-bad-", "verbose=perhaps", "this line has no equals sign");

        Assert.Equal(1, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("stdin line 8: 'this line has no equals sign' is not key=value", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("unknown parameter 'colour'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("server: 'ftp://10.0.0.6' is not an https://", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("timeout: '0' is not a number of seconds", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("port/plug: 'compute 1' is not a host name", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("domain: '-bad-' is not a DNS domain", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("verbose: 'perhaps' is not a boolean", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.StartsWith("fence_evacuationd: ", l, StringComparison.Ordinal));
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("action=off", "server: required")]
    [InlineData("action=off\nserver=https://10.0.0.5:1", "action off needs the host")]
    [InlineData("action=shutdown\nserver=https://10.0.0.5:1", "action: 'shutdown' is not supported")]
    [InlineData("action=monitor\nserver=https://10.0.0.5:1\ncert_file=/etc/fencer.pem", "cert_file and key_file must be given together")]
    [InlineData("action=monitor\nserver=http://10.0.0.5:1\nca_file=/etc/ca.pem", "ca_file/cert_file/key_file are for https:// servers")]
    [InlineData("action=monitor\nserver=https://10.0.0.5:1\nca_file=/nonexistent/ca.pem", "ca_file: cannot load /nonexistent/ca.pem")]
    public async Task AnActionWithBadParametersFailsBeforeCallingAnyDaemon(string stdin, string expected)
    {
        var result = await AgentRun.StdinAsync(stdin);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlagsWorkLikeStdinAndUnknownFlagsAreNamed()
    {
        var good = await AgentRun.FlagsAsync("-o", "validate-all", "--server=https://10.0.0.5:1", "--timeout", "5", "-n", "compute-1", "-v");
        var bad = await AgentRun.FlagsAsync("-o", "validate-all", "--server", "https://10.0.0.5:1", "--colour", "blue");
        var missing = await AgentRun.FlagsAsync("-o", "validate-all", "--server");
        var help = await AgentRun.FlagsAsync("--help");

        Assert.True(good.ExitCode == 0, good.ToString());
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("unknown option '--colour'", bad.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("option '--server' needs a value", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--server SERVER", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("actions: on, off, reboot, status, list, monitor, metadata, validate-all", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutStdinOrFlagsTheAgentSaysHowToCallIt()
    {
        var result = await CliRun.RunAsync(new CliEnvironment { Stdin = null }, "fence-agent");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no parameters", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OffSendsTheHostWithTheDomainAndAPortWinsOverNodename()
    {
        var fencing = new FakeFencing();
        await using var daemon = await TestDaemon.StartAsync(fencing);

        var result = await AgentRun.StdinAsync("action=off", $"server={daemon.Address}", "port=compute-1", "nodename=ignored", "domain=cloud.example");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Success: compute-1.cloud.example fenced: evacuation compute-1.cloud.example:1 recorded by " + daemon.Address, result.Stdout.Trim());
        var request = Assert.Single(fencing.Fenced);
        Assert.Equal("compute-1.cloud.example", request.Host);
        Assert.Equal(FenceSource.FenceAgent, request.Source);
        Assert.Equal("pacemaker fencer on node1", request.Reporter);
        Assert.Equal("fenced by Pacemaker (action off)", request.Reason);
    }

    [Fact]
    public async Task AStaleAnswerFailsTheFencingWithTheDaemonsMessage()
    {
        var fencing = new FakeFencing();
        fencing.FenceAnswers.Enqueue(_ => new ReportFencedResponse { Outcome = FenceOutcome.Stale, Message = "older than the last release" });
        await using var daemon = await TestDaemon.StartAsync(fencing);

        var result = await AgentRun.StdinAsync("action=off", $"server={daemon.Address}", "plug=compute-1");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("did not record the fencing of compute-1 (Stale): older than the last release", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusedCertificateFailsAtOnceWithoutRetriesAndSaysWhichRoleIsNeeded()
    {
        var fencing = new FakeFencing();
        fencing.FenceAnswers.Enqueue(FakeFencing.Throws(StatusCode.PermissionDenied, "role viewer may not call ReportFenced"));
        await using var daemon = await TestDaemon.StartAsync(fencing);

        var result = await AgentRun.StdinAsync("action=off", $"server={daemon.Address}", "plug=compute-1");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("PermissionDenied: role viewer may not call ReportFenced", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("fencer role", result.Stderr, StringComparison.Ordinal);
        Assert.Single(fencing.Fenced);
    }

    [Fact]
    public async Task ADaemonWhoseStoreDidNotConfirmIsAskedAgainAfterAPauseUntilItConfirms()
    {
        var clock = new ObservableFakeTimeProvider(CliRun.Now);
        var fencing = new FakeFencing();
        fencing.FenceAnswers.Enqueue(FakeFencing.Throws(StatusCode.Unavailable, "etcd did not confirm the write"));
        fencing.FenceAnswers.Enqueue(FakeFencing.Throws(StatusCode.Unavailable, "etcd did not confirm the write"));
        await using var daemon = await TestDaemon.StartAsync(fencing);

        var run = AgentRun.StdinAsync(clock, "action=off", $"server={daemon.Address}", "plug=compute-1", "verbose=1");
        for (var pause = 1; pause <= 2; pause++)
        {
            await clock.WaitForArmedTimersAsync(pause);
            clock.Advance(AgentActions.RetryDelay);
        }
        var result = await run;

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(3, fencing.Fenced.Count);
        Assert.Contains("round 2: " + daemon.Address + ": etcd did not confirm the write", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNoDaemonReachableTheAgentGivesUpWithinItsTimeoutAndFails()
    {
        var clock = new ObservableFakeTimeProvider(CliRun.Now);
        var down1 = TestDaemon.UnreachableAddress();
        var down2 = TestDaemon.UnreachableAddress();

        var run = AgentRun.StdinAsync(clock, "action=reboot", $"server={down1},{down2}", "plug=compute-1", "timeout=2");
        // Rounds at 0, 0.5, 1.0 and 1.5 s of the agent's clock; a fifth would start at its deadline.
        for (var pause = 1; pause <= 3; pause++)
        {
            await clock.WaitForArmedTimersAsync(pause);
            clock.Advance(AgentActions.RetryDelay);
        }
        var result = await run;

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("reboot failed: report compute-1 fenced: no daemon confirmed within 2s (4 rounds)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(down1, result.Stderr, StringComparison.Ordinal);
        Assert.Contains(down2, result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task OnWarnsButSucceedsWhenNoDaemonCanBeReached()
    {
        var result = await AgentRun.StdinAsync("action=on", $"server={TestDaemon.UnreachableAddress()}", "plug=compute-1", "timeout=0.4");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("warning: the power-on of compute-1 is not recorded", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MonitorFailsWhenTheOnlyDaemonCannotRecordAFence()
    {
        var clock = new ObservableFakeTimeProvider(CliRun.Now);
        var fencing = new FakeFencing();
        for (var i = 0; i < 10; i++)
        {
            fencing.CheckAnswers.Enqueue(_ => new CheckResponse { DaemonId = "d1", Role = "fencer", Ready = false });
        }
        await using var daemon = await TestDaemon.StartAsync(fencing);

        var run = AgentRun.StdinAsync(clock, "action=monitor", $"server={daemon.Address}", "timeout=1");
        await clock.WaitForArmedTimersAsync(1);
        clock.Advance(AgentActions.RetryDelay);
        var result = await run;

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("every daemon that answered cannot record a fence now", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, fencing.Checks);
    }

    [Fact]
    public async Task ListPrintsNovasHostsAsPacemakerNamesThem()
    {
        var fencing = new FakeFencing();
        fencing.CheckAnswers.Enqueue(r => new CheckResponse
        {
            DaemonId = "d1", Role = "fencer", Ready = true, HostsKnown = r.IncludeHosts,
            Hosts = { "compute-1.cloud.example", "compute-2.cloud.example", "gpu-1.other.example" },
        });
        await using var daemon = await TestDaemon.StartAsync(fencing);

        var result = await AgentRun.StdinAsync("action=list", $"server={daemon.Address}", "domain=cloud.example");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["compute-1", "compute-2", "gpu-1.other.example"], result.Lines);
    }

    [Fact]
    public async Task TheAgentUsesItsClientCertificateForMutualTls()
    {
        using var pki = new TestPki("fencing");
        var fencing = new FakeFencing();
        await using var daemon = await TestDaemon.StartAsync(fencing, new TestTls(pki.Server, pki.Issued));
        var server = daemon.Address;

        var withCertificate = await AgentRun.StdinAsync("action=off", $"server={server}", "plug=compute-1",
            $"ca_file={pki.CaFile}", $"cert_file={pki.ClientCertFile}", $"key_file={pki.ClientKeyFile}");
        // No CA given: the daemon's certificate is not trusted (time for a handshake even on a busy machine).
        var untrustedServer = await AgentRun.StdinAsync("action=off", $"server={server}", "plug=compute-1", "timeout=3");

        Assert.True(withCertificate.ExitCode == 0, withCertificate.ToString());
        Assert.Equal(1, untrustedServer.ExitCode);
        Assert.Contains("TLS handshake failed", untrustedServer.Stderr, StringComparison.Ordinal);
        Assert.Single(fencing.Fenced);
    }

    [Fact]
    public async Task EvacctlHelpListsTheFenceAgent()
    {
        var result = await CliRun.RunAsync("--help");

        Assert.Contains("fence-agent", result.Stdout, StringComparison.Ordinal);
    }
}
