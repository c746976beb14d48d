using Evacuationd.Chaos;

namespace Evacuationd.Chaos.Tests;

/// <summary>The seeded schedule: reproducible, and covering what each run size promises.</summary>
public sealed class PlanTests
{
    private static readonly Timings Timings = new();

    [Fact]
    public void TheSameSeedGivesTheSamePlanAndAnotherSeedAnother()
    {
        var ci = new ChaosOptions();

        Assert.Equal(Create(ci).Describe(), Create(ci).Describe());
        Assert.NotEqual(Create(ci).Describe(), Create(ci with { Seed = ci.Seed + 1 }).Describe());
        var soak = new ChaosOptions { Mode = ChaosMode.Soak, Hosts = 64, Seed = 7 };
        Assert.Equal(Create(soak).Describe(), Create(soak).Describe());
    }

    [Fact]
    public void TheCiPlanInjectsEveryKindOnceAndBurstsPastTheGuard()
    {
        var plan = Create(new ChaosOptions());

        Assert.Equal(FaultKinds.All.Order(), plan.Faults.Select(f => f.Kind).Order());
        var burst = Assert.Single(plan.Steps.OfType<FenceStep>(), f => f.Burst);
        Assert.Equal(Timings.MaxHostsInWindow + 2, burst.Hosts.Count);
        Assert.Equal(plan.FencedHosts.Count(), plan.FencedHosts.Distinct().Count());
        // Each fault meets records in flight: a daemon or etcd fault comes after a fence, a Nova
        // window opens before one.
        var steps = plan.Steps.ToList();
        foreach (var fault in plan.Faults)
        {
            var at = steps.IndexOf(fault);
            Assert.True(fault.Kind.OnNova()
                ? steps.Skip(at + 1).TakeWhile(s => s is not FaultStep).OfType<FenceStep>().Any()
                : steps.Take(at).Reverse().TakeWhile(s => s is not FaultStep).OfType<FenceStep>().Any(), $"fault {fault.Index} {fault.Kind}");
        }
        Assert.All(plan.Faults.Where(f => f.Kind is FaultKind.DaemonPause), f =>
            Assert.InRange(f.Duration, Timings.LeaseTtl, Timings.LeaseTtl + Timings.CallSettle));
    }

    [Fact]
    public void ASoakPlanHasTheFaultsAskedForOfEveryKindEachWithAFenceAndKeepsHealthyHosts()
    {
        var o = ChaosOptions.Parse(["--soak", "--seed", "99", "--print-plan"]);

        var plan = Create(o);

        Assert.Equal((96, 50), (o.Hosts, plan.Faults.Count()));
        Assert.Equal(FaultKinds.All.Order(), plan.Faults.Select(f => f.Kind).Distinct().Order());
        Assert.Equal(50, plan.Steps.OfType<FenceStep>().Count(f => !f.Burst)); // every fault meets records in flight
        Assert.True(plan.Steps.OfType<FenceStep>().Count(f => f.Burst) >= 2);
        Assert.True(plan.FencedHosts.Count() <= 96 - 24, $"{plan.FencedHosts.Count()} hosts fenced");
        Assert.True(plan.FencedHosts.Count() * o.InstancesPerHost >= 1000, $"{plan.FencedHosts.Count()} hosts fenced");
    }

    [Fact]
    public void ASmallSoakStillKeepsAQuarterOfTheHostsHealthy()
    {
        var plan = Create(new ChaosOptions { Mode = ChaosMode.Soak, Hosts = 40, Faults = 80, Seed = 3 });

        Assert.Equal(80, plan.Faults.Count());
        Assert.Equal(30, plan.FencedHosts.Count());
    }

    private static Plan Create(ChaosOptions o) => Plan.Create(o, Timings, ChaosRun.BurstSize(Timings));
}
