using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;

namespace Evacuationd.Core.Tests.Policy;

/// <summary>S6: many fencings at once are held until an operator confirms.</summary>
public class BlastRadiusTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly PolicyOptions Policy = new() { MaxHostsInWindow = 3, MaxSharePercent = 25, Window = TimeSpan.FromMinutes(10) };

    private static ControlState With(params (string Host, double MinutesAgo)[] fencings) =>
        ControlState.Initial with { Recent = [.. fencings.Select(f => new RecentFencing(f.Host, 1, Now.AddMinutes(-f.MinutesAgo)))] };

    [Fact]
    public void UpToTheLimitWithinTheWindowNothingIsHeld()
    {
        var (held, _, control) = BlastRadius.Decide(With(("compute-01", 1), ("compute-02", 2)), "compute-03", 1, Now, computeHosts: null, Policy);

        Assert.False(held);
        Assert.Equal(["compute-01", "compute-02", "compute-03"], control.Recent.Select(f => f.Host));
    }

    [Fact]
    public void OneMoreThanTheLimitWithinTheWindowIsHeldWithTheReason()
    {
        var (held, reason, control) = BlastRadius.Decide(With(("compute-01", 1), ("compute-02", 2), ("compute-03", 3)), "compute-04", 1, Now, null, Policy);

        Assert.True(held);
        Assert.Contains("4 hosts fenced within", reason, StringComparison.Ordinal);
        Assert.Contains("evacctl confirm compute-04", reason, StringComparison.Ordinal);
        Assert.Equal(4, control.Recent.Count); // it counts for the next ones too
    }

    [Fact]
    public void FencingsOlderThanTheWindowNoLongerCountAndArePruned()
    {
        var (held, _, control) = BlastRadius.Decide(With(("compute-01", 11), ("compute-02", 20), ("compute-03", 3)), "compute-04", 1, Now, null, Policy);

        Assert.False(held);
        Assert.Equal(["compute-03", "compute-04"], control.Recent.Select(f => f.Host));
    }

    [Fact]
    public void TheSameHostFencedAgainCountsOnce()
    {
        var (held, _, control) = BlastRadius.Decide(With(("compute-01", 1), ("compute-02", 2), ("compute-03", 3)), "compute-03", 2, Now, null, Policy);

        Assert.False(held);
        Assert.Equal(3, control.Recent.Count);
        Assert.Equal(2, control.Recent.Single(f => f.Host == "compute-03").Generation);
    }

    [Fact]
    public void MoreThanTheShareOfTheComputeHostsIsHeldWhenTheirNumberIsKnown()
    {
        var state = With(("compute-01", 1));

        var small = BlastRadius.Decide(state, "compute-02", 1, Now, computeHosts: 6, Policy);   // 2 of 6 = 33% > 25%
        var large = BlastRadius.Decide(state, "compute-02", 1, Now, computeHosts: 100, Policy); // 2%
        var unknown = BlastRadius.Decide(state, "compute-02", 1, Now, computeHosts: null, Policy);

        Assert.True(small.Held);
        Assert.Contains("2 of 6 compute hosts", small.Reason, StringComparison.Ordinal);
        Assert.False(large.Held);
        Assert.False(unknown.Held);
    }

    [Fact]
    public void OneHostIsNeverABlastWhateverTheShare()
    {
        var (held, _, _) = BlastRadius.Decide(ControlState.Initial, "compute-01", 1, Now, computeHosts: 2, Policy); // 50% of a tiny cloud

        Assert.False(held);
    }

    [Fact]
    public void AGlobalHoldHoldsEveryNewFencing()
    {
        var (held, reason, _) = BlastRadius.Decide(ControlState.Initial with { Held = true, HeldBy = "alice", HeldReason = "upgrade" }, "compute-01", 1, Now, 100, Policy);

        Assert.True(held);
        Assert.Contains("alice", reason, StringComparison.Ordinal);
        Assert.Contains("upgrade", reason, StringComparison.Ordinal);
    }
}
