using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;

namespace Evacuationd.Core.Tests.Policy;

/// <summary>A reserved pool: evacuations go only to its hosts, spread by instance; a failed attempt tries the next.</summary>
public class ReservedHostsTests
{
    [Fact]
    public void AttemptsGoToPoolHostsSpreadByInstanceAndMovedOnByAttempt()
    {
        var o = new WorkflowOptions { ReservedHosts = ["spare-1", "spare-2", "spare-3"] };

        var first = Enumerable.Range(0, 30).Select(i => o.TargetFor($"compute-01:1:{i:x8}-0000-4000-8000-000000000000", 1)).ToList();
        var second = o.TargetFor("compute-01:1:00000000-0000-4000-8000-000000000000", 2);

        Assert.All(first, t => Assert.Contains(t, o.ReservedHosts));
        Assert.Equal(3, first.Distinct().Count()); // spread over the pool
        Assert.NotEqual(first[0], second);          // the next attempt tries another host
        Assert.Equal(first[0], o.TargetFor("compute-01:1:00000000-0000-4000-8000-000000000000", 1)); // deterministic
    }

    [Fact]
    public void ATargetHostWinsOverThePoolAndNoPoolLeavesItToTheScheduler()
    {
        Assert.Equal("only", new WorkflowOptions { TargetHost = "only", ReservedHosts = ["spare-1"] }.TargetFor("x", 1));
        Assert.Null(new WorkflowOptions().TargetFor("x", 1));
    }

    [Fact]
    public void TheAttemptAsksNovaForThePoolHost()
    {
        var options = Options();
        options.ReservedHosts = ["spare-1", "spare-2"];

        var start = Assert.IsType<InstanceStep.StartAttempt>(InstanceWorkflow.Decide(Accepted(), Nova(Server()), At(T0, options: options)));

        Assert.Contains(start.Next.RequestedDestination, options.ReservedHosts);
        Assert.Contains($"to {start.Next.RequestedDestination}", start.Next.Reason, StringComparison.Ordinal);
    }
}
