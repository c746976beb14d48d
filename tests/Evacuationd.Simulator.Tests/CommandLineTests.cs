namespace Evacuationd.Simulator.Tests;

public class CommandLineTests
{
    [Fact]
    public void DefaultsWithoutArguments()
    {
        var result = CommandLine.Parse([]);
        Assert.Null(result.Error);
        var o = result.Options!;
        Assert.Equal(3, o.Hosts);
        Assert.Equal(4, o.InstancesPerHost);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.Rebuild);
        Assert.Equal(TimeSpan.FromSeconds(60), o.ServiceDownTime);
        Assert.Equal(TimeSpan.FromSeconds(3), o.Cleanup);
        Assert.Equal(TimeSpan.FromHours(1), o.TokenTtl);
        Assert.Equal("http://127.0.0.1:8774", o.Listen);
        Assert.Equal(1, o.Seed);
        Assert.Equal("2.93", o.MaxMicroversion);
        Assert.Equal("RegionOne", o.Region);
    }

    [Fact]
    public void ParsesEveryOption()
    {
        var result = CommandLine.Parse(["--listen", "http://0.0.0.0:9000", "--hosts", "5", "--instances-per-host=7", "--rebuild-ms", "250",
            "--service-down-time-ms", "1000", "--cleanup-ms", "0", "--seed", "42", "--max-parallel-rebuilds", "4"]);
        Assert.Null(result.Error);
        var o = result.Options!;
        Assert.Equal("http://0.0.0.0:9000", o.Listen);
        Assert.Equal(5, o.Hosts);
        Assert.Equal(7, o.InstancesPerHost);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.Rebuild);
        Assert.Equal(TimeSpan.FromSeconds(1), o.ServiceDownTime);
        Assert.Equal(TimeSpan.Zero, o.Cleanup);
        Assert.Equal(42, o.Seed);
        Assert.Equal(4, o.MaxParallelRebuilds);
    }

    [Theory]
    [InlineData("--frobnicate", "--frobnicate")]
    [InlineData("--hosts abc", "--hosts")]
    [InlineData("--hosts -1", "--hosts")]
    [InlineData("--instances-per-host", "--instances-per-host")]
    [InlineData("--rebuild-ms 1.5", "--rebuild-ms")]
    [InlineData("--listen ftp://x:1", "--listen")]
    [InlineData("--listen http://127.0.0.1", "--listen")]
    [InlineData("--seed", "--seed")]
    [InlineData("stray", "stray")]
    public void BadArgumentsNameTheOption(string args, string named)
    {
        var result = CommandLine.Parse(args.Split(' '));
        Assert.Null(result.Options);
        Assert.NotNull(result.Error);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpIsNotAnError()
    {
        var result = CommandLine.Parse(["--help"]);
        Assert.True(result.ShowHelp);
        Assert.Null(result.Error);
    }
}
