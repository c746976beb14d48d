using System.CommandLine;
using Evacuationd.Agent.CommandLine;
using Evacuationd.Agent.Decisions;

namespace Evacuationd.Agent.Tests;

/// <summary>The shipped files stay in step with the program: the sample configuration reads, the systemd units call existing commands.</summary>
public sealed class DeployFilesTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy");

    [Fact]
    public void TheSampleConfigurationReadsForRunAndGate()
    {
        var sample = Path.Combine(Deploy, "agent.sample.json");

        var runOptions = new RunOptions();
        var gateOptions = new GateOptions();
        var run = AgentSettings.ReadRun(Parse(runOptions.All, sample), runOptions);
        var gate = AgentSettings.ReadGate(Parse(gateOptions.All, sample), gateOptions);

        Assert.Equal("compute-01", run.Common.Host);
        Assert.Equal(2, run.Common.Servers.Count);
        Assert.Equal(Path.Combine(Deploy, "pki", "ca.pem"), run.Common.Ca); // relative to the file
        Assert.Equal(["libvirtd", "instances-disk"], run.Checks.Select(c => c.Name));
        Assert.Equal(TimeSpan.FromSeconds(5), run.Checks[1].Timeout);
        Assert.Equal(ReleaseMode.Auto, run.Release);
        Assert.Equal((TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(5)), (gate.Wait, gate.Poll));
    }

    [Fact]
    public void TheNovaComputeDropInRunsTheGateAndOutwaitsIt()
    {
        var text = File.ReadAllLines(Path.Combine(Deploy, "systemd", "nova-compute.service.d", "evacuationd-gate.conf"));

        Assert.Contains("ExecStartPre=/usr/bin/evacuationd-agent gate --config /etc/evacuationd/agent.json", text);
        var timeout = int.Parse(text.Single(l => l.StartsWith("TimeoutStartSec=", StringComparison.Ordinal))["TimeoutStartSec=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(TimeSpan.FromSeconds(timeout) > Defaults.Wait + (3 * Defaults.Timeout) + Defaults.HypervisorTimeout, $"TimeoutStartSec={timeout}");
    }

    [Fact]
    public void TheAgentUnitRunsTheLoop()
    {
        var text = File.ReadAllLines(Path.Combine(Deploy, "systemd", "evacuationd-agent.service"));

        Assert.Contains("ExecStart=/usr/bin/evacuationd-agent run --config /etc/evacuationd/agent.json", text);
    }

    private static ParseResult Parse(IEnumerable<Option> options, string config)
    {
        var root = new RootCommand();
        foreach (var option in options)
        {
            root.Options.Add(option);
        }

        var parse = root.Parse(["--config", config]);
        Assert.Empty(parse.Errors);
        return parse;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Evacuationd.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no Evacuationd.sln above {AppContext.BaseDirectory}");
    }
}
