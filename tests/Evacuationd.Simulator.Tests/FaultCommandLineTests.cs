using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator.Tests;

public class FaultCommandLineTests
{
    public static TheoryData<string, FaultSpec> Specs() => new()
    {
        { "latency:p=0.2,ms=800", new FaultSpec { Kind = "latency", P = 0.2, Ms = 800 } },
        { "latency:p=1,ms=0,path=os-migrations,method=get,after", new FaultSpec { Kind = "latency", Ms = 0, Path = "os-migrations", Method = "GET", After = true } },
        { "5xx:p=0.05", new FaultSpec { Kind = "5xx", P = 0.05 } },
        { "5xx:p=1,code=503,path=/action", new FaultSpec { Kind = "5xx", Code = 503, Path = "/action" } },
        { "5xx-after:p=0.3,path=/action,method=POST", new FaultSpec { Kind = "5xx-after", P = 0.3, Path = "/action", Method = "POST" } },
        { "timeout:p=0.02", new FaultSpec { Kind = "timeout", P = 0.02 } },
        { "timeout:p=0.5,ms=30000,after=true", new FaultSpec { Kind = "timeout", P = 0.5, Ms = 30000, After = true } },
        { "evacuate-error:p=0.1", new FaultSpec { Kind = "evacuate-error", P = 0.1 } },
        { "evacuate-error:p=0.1,host=compute-01", new FaultSpec { Kind = "evacuate-error", P = 0.1, Host = "compute-01" } },
        { "novalidhost:p=0.1", new FaultSpec { Kind = "novalidhost", P = 0.1 } },
        { "refuse-force-down:host=compute-03", new FaultSpec { Kind = "refuse-force-down", Host = "compute-03" } },
        { "refuse-force-down", new FaultSpec { Kind = "refuse-force-down" } },
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void ParsesEverySpec(string spec, FaultSpec expected)
    {
        var result = CommandLine.Parse(["--fault", spec]);
        Assert.Null(result.Error);
        Assert.Equal(expected, Assert.Single(result.Options!.Faults));

        // --fault=SPEC works too, and the printed form parses back to the same rule.
        Assert.Equal(expected, Assert.Single(CommandLine.Parse(["--fault=" + spec]).Options!.Faults));
        Assert.Equal(expected, FaultSpec.Parse(expected.ToString()));
    }

    [Fact]
    public void FaultIsRepeatableAndKeepsOrder()
    {
        var result = CommandLine.Parse(["--seed", "9", "--fault", "latency:p=0.2,ms=800", "--fault", "5xx:p=0.05", "--fault=timeout:p=0.02"]);
        Assert.Null(result.Error);
        Assert.Equal(9, result.Options!.Seed);
        Assert.Equal(["latency", "5xx", "timeout"], result.Options.Faults.Select(f => f.Kind));
        Assert.Empty(CommandLine.Parse([]).Options!.Faults);
    }

    [Theory]
    [InlineData("bogus", "unknown fault kind 'bogus'")]
    [InlineData("latency:p=0.5", "ms is required")]
    [InlineData("latency:p=1.5,ms=10", "p must be a number in [0, 1]")]
    [InlineData("5xx:p=abc", "p must be a number")]
    [InlineData("5xx:code=404", "code must be in [500, 599]")]
    [InlineData("5xx:ms=10", "'ms' is not a parameter of 5xx")]
    [InlineData("timeout:ms=-1", "ms must be a non-negative integer")]
    [InlineData("timeout:after=maybe", "after must be true or false")]
    [InlineData("novalidhost:path=/x", "'path' is not a parameter of novalidhost")]
    [InlineData("5xx:p=0.1,p=0.2", "'p' given twice")]
    [InlineData("5xx:p=0.1,,path=x", "empty parameter")]
    [InlineData("5xx:path=", "path must not be empty")]
    [InlineData("5xx:method=G-T", "method must be")]
    [InlineData("refuse-force-down:host=", "host must not be empty")]
    public void BadSpecsNameTheOption(string spec, string message)
    {
        var result = CommandLine.Parse(["--fault", spec]);
        Assert.Null(result.Options);
        Assert.StartsWith("option '--fault': ", result.Error, StringComparison.Ordinal);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.Contains(spec, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void FaultNeedsAValue()
    {
        var result = CommandLine.Parse(["--fault"]);
        Assert.Null(result.Options);
        Assert.Contains("'--fault' needs a value", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadSpecExitsWithStatus2()
    {
        var error = Console.Error;
        try
        {
            using var captured = new StringWriter();
            Console.SetError(captured);
            Assert.Equal(2, await Program.Main(["--fault", "latency:p=2"]));
            Assert.Contains("option '--fault'", captured.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Console.SetError(error);
        }
    }

    [Fact]
    public void UsageDocumentsEveryKind()
    {
        foreach (var kind in FaultKinds.All)
        {
            Assert.Contains(kind, CommandLine.Usage, StringComparison.Ordinal);
        }
    }
}
