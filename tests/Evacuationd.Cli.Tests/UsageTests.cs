using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Cli.Tests;

/// <summary>Usage errors exit 2 without calling any daemon (the server given is unreachable on purpose).</summary>
public class UsageTests
{
    [Theory]
    [InlineData("fence-agnet")]
    [InlineData("frobnicate")]
    public async Task AnUnknownCommandExits2(string command)
    {
        var result = await CliRun.RunAsync("--server", TestDaemon.UnreachableAddress(), command);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains($"'{command}'", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot reach", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list", "--bogus")]
    [InlineData("show")]
    [InlineData("fence")]
    [InlineData("retry")]
    [InlineData("confirm")]
    [InlineData("-o", "yaml", "hosts")]
    [InlineData("--timeout", "0", "hosts")]
    [InlineData("--timeout", "soon", "hosts")]
    [InlineData("show", "a", "b")]
    public async Task ABadCommandLineExits2(params string[] args)
    {
        var result = await CliRun.RunAsync(["--server", TestDaemon.UnreachableAddress(), .. args]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith("evacctl: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot reach", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task NoCommandExits2()
    {
        var result = await CliRun.RunAsync();

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("Required command was not provided", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://daemon:50077")]
    [InlineData("daemon:50077")]
    [InlineData("not a url")]
    public async Task AServerThatIsNotAnHttpUrlExits2(string server)
    {
        var result = await CliRun.RunAsync("--server", server, "hosts");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains($"--server: '{server}' is not an http:// or https:// URL", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpListsTheCommandsAndExits0()
    {
        var result = await CliRun.RunAsync("--help");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        foreach (var command in new[] { "fence", "hosts", "list", "show", "watch", "daemons", "retry", "cancel", "hold", "resume", "confirm", "release-host", "fence-agent" })
        {
            Assert.Contains($"  {command} ", result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task FenceHelpWorksWithoutTheConfirmation()
    {
        var result = await CliRun.RunAsync("fence", "--help");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains("--confirm-powered-off", result.Stdout, StringComparison.Ordinal);
    }
}
