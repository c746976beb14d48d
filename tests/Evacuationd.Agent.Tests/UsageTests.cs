using Evacuationd.Agent.Tests.Support;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Agent.Tests;

/// <summary>The command line and the configuration file: usage errors exit 2 naming the bad option, before any daemon is called.</summary>
public sealed class UsageTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("gate")]
    public async Task HostAndServerAreRequired(string command)
    {
        var result = await new AgentHarness().RunAsync([command]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("evacuationd-agent: --host is required", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("evacuationd-agent: --server is required", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--interval", "soon", "--interval: 'soon' is not a positive duration")]
    [InlineData("--interval", "0", "--interval: '0' is not a positive duration")]
    [InlineData("--check-timeout", "-3s", "--check-timeout: '-3s' is not a positive duration")]
    [InlineData("--timeout", "forever", "--timeout: 'forever' is not a positive duration")]
    [InlineData("--check", "no-equals-sign", "--check: 'no-equals-sign' is not NAME=COMMAND")]
    [InlineData("--check", "=true", "--check: '=true' is not NAME=COMMAND")]
    [InlineData("--check", "bad name=true", "--check: 'bad name' is not a self-check name")]
    [InlineData("--release", "sometimes", "--release: 'sometimes' is not one of auto, off")]
    [InlineData("--release-timeout", "0s", "--release-timeout: '0s' is not a positive duration")]
    [InlineData("--hypervisor", "xen", "--hypervisor: 'xen' is not one of virsh, none")]
    [InlineData("--log-format", "xml", "--log-format: 'xml' is not one of auto, text, json, systemd")]
    [InlineData("--host", "compute 01", "--host: 'compute 01' is not a host name")]
    [InlineData("--bogus", "1", "Unrecognized command or argument '--bogus'")]
    public async Task ABadRunOptionExits2NamingIt(string option, string value, string message)
    {
        var args = new List<string> { "run", "--server", TestDaemon.UnreachableAddress() };
        if (option != "--host")
        {
            args.AddRange(["--host", "compute-01"]);
        }

        args.AddRange([option, value]);
        var h = new AgentHarness();

        var result = await h.RunAsync([.. args]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains($"evacuationd-agent: {message}", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Logs); // nothing ran
    }

    [Theory]
    [InlineData("--wait", "later", "--wait: 'later' is not a duration")]
    [InlineData("--poll", "0", "--poll: '0' is not a positive duration")]
    [InlineData("--check", "a=true", "Unrecognized command or argument '--check'")]
    public async Task ABadGateOptionExits2NamingIt(string option, string value, string message)
    {
        var result = await new AgentHarness().RunAsync(["gate", "--host", "compute-01", "--server", TestDaemon.UnreachableAddress(), option, value]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains($"evacuationd-agent: {message}", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://daemon:50077", "--server: 'ftp://daemon:50077' is not an http:// or https:// URL")]
    [InlineData("https://daemon:50077", "--cert and --key are required for https:// daemons")]
    public async Task ServersAreChecked(string server, string message)
    {
        var result = await new AgentHarness().RunAsync(["gate", "--host", "compute-01", "--server", server]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TlsFilesThatCannotBeReadAreUsageErrors()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.pem");

        var result = await new AgentHarness().RunAsync(["gate", "--host", "compute-01", "--server", "https://daemon:50077",
            "--cert", missing, "--key", missing]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains($"--cert/--key: cannot load {missing}", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpNamesTheCommandsAndExits0()
    {
        using var stdout = new StringWriter();
        var code = await AgentApp.RunAsync(["--help"], stdout, TextWriter.Null, new AgentHarness().Environment());

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("run", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("gate", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheConfigFileGivesOptionsAndTheCommandLineWins()
    {
        await using var h = await AgentHarness.StartAsync();
        h.Daemon.Fenced("compute-07", HostState.Evacuating, pendingRecords: 1);
        var config = await WriteConfigAsync($$"""
            {
              "host": "compute-07",
              "server": ["{{h.Address}}"],
              "wait": "10m",          // the command line says 0
              "interval": "1m",       // run's: gate ignores it
              "check": ["libvirt=virsh version"],
            }
            """);

        var result = await h.RunAsync(["gate", "--config", config, "--wait", "0"]);

        Assert.True(result.ExitCode == ExitCodes.Closed, result.ToString());
        Assert.Equal("compute-07", Assert.Single(h.Daemon.CheckIns).Host);
        Assert.Equal(0, h.Clock.ArmedTimers); // --wait 0: asked once, never slept
    }

    [Fact]
    public async Task TheConfigFilesMistakesAreNamedWithTheirKeyAndFile()
    {
        var config = await WriteConfigAsync("""
            { "host": "compute-01", "server": "http://127.0.0.1:1", "interval": "often", "release": 3, "check": [ { "name": "x" } ] }
            """);

        var result = await new AgentHarness().RunAsync(["run", "--config", config]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains($"\"interval\" in {config}: 'often' is not a positive duration", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"\"release\" in {config} must be a string", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("needs a \"name\" and a \"command\"", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"hots\": \"compute-01\" }", "unknown key(s) \"hots\"")]
    [InlineData("[1, 2]", "must hold a JSON object")]
    [InlineData("{ \"host\": ", "is not valid JSON")]
    [InlineData("{ \"host\": \"compute-01\", \"host\": \"compute-02\" }", "the key \"host\" is given twice")] // was an unhandled exception, exit 1
    [InlineData("{ \"host\": \"compute\\u001b[31m-01\" }", "'compute\\u001b[31m-01' is not a host name")] // a terminal escape is shown, not sent
    public async Task ABadConfigFileIsAUsageError(string text, string message)
    {
        var config = await WriteConfigAsync(text);

        var result = await new AgentHarness().RunAsync(["gate", "--config", config]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingConfigFileIsAUsageError()
    {
        var result = await new AgentHarness().RunAsync(["gate", "--config", "/nonexistent/agent.json"]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains("--config: cannot read /nonexistent/agent.json", result.Stderr, StringComparison.Ordinal);
    }

    private static async Task<string> WriteConfigAsync(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"evacuationd-agent-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, text);
        return path;
    }
}
