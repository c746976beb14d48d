using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;
using static Evacuationd.Core.Tests.Support.Build;

namespace Evacuationd.Core.Tests.Workflow;

/// <summary>Ownership bookkeeping at each claim and the poison guard (a record must not take every daemon down in turn).</summary>
public class PoisonGuardTests
{
    private static readonly InstanceRecord Fresh = Accepted();

    [Fact]
    public void TheFirstClaimNotesTheOwnerAndIsNoAdoption()
    {
        var claimed = PoisonGuard.ForClaim(Fresh, Owner, 11, maxAdoptions: 5, T0);

        Assert.Equal((Owner, 11L, 0, false), (claimed.LastOwner, claimed.LastOwnerLease, claimed.Adoptions, claimed.HandedOver));
        Assert.Equal(RecordState.Accepted, claimed.State);
    }

    [Fact]
    public void ClaimingARecordWhoseOwnerDiedCountsOneAdoption()
    {
        var orphan = PoisonGuard.ForClaim(Fresh, Owner, 11, 5, T0) with { State = RecordState.Rebuilding };

        var adopted = PoisonGuard.ForClaim(orphan, Successor, 22, 5, T0);

        Assert.Equal(1, adopted.Adoptions);
        Assert.Equal((Successor, 22L), (adopted.LastOwner, adopted.LastOwnerLease));
    }

    [Fact]
    public void AHandoverOrAReclaimUnderTheSameLeaseIsNoAdoption()
    {
        var owned = PoisonGuard.ForClaim(Fresh, Owner, 11, 5, T0);

        var handedOver = PoisonGuard.ForClaim(PoisonGuard.HandOver(owned), Successor, 22, 5, T0);
        var reclaimed = PoisonGuard.ForClaim(owned, Owner, 11, 5, T0);

        Assert.Equal(0, handedOver.Adoptions);
        Assert.False(handedOver.HandedOver);
        Assert.Equal(0, reclaimed.Adoptions);
    }

    [Fact]
    public void ARunnerFailureCountsOnceAndTheNextClaimDoesNotCountItAgain()
    {
        var owned = PoisonGuard.ForClaim(Fresh, Owner, 11, 5, T0);

        var failed = PoisonGuard.AfterRunnerFailure(owned, "NullReferenceException: boom", T0, Owner);
        var next = PoisonGuard.ForClaim(failed, Successor, 22, 5, T0);

        Assert.Equal(1, failed.Adoptions);
        Assert.Contains("boom", failed.History[^1].Reason, StringComparison.Ordinal);
        Assert.Equal(1, next.Adoptions);
    }

    [Fact]
    public void PastTheLimitTheRecordIsParkedAsFailedWithTheReason()
    {
        var r = Rebuilding() with { LastOwner = "daemon-x", LastOwnerLease = 7, Adoptions = 3 };

        var atLimit = PoisonGuard.ForClaim(r with { Adoptions = 2 }, Successor, 22, maxAdoptions: 3, T0);
        var parked = PoisonGuard.ForClaim(r, Successor, 22, maxAdoptions: 3, T0);

        Assert.Equal(RecordState.Rebuilding, atLimit.State);
        Assert.Equal(RecordState.Failed, parked.State);
        Assert.Equal(4, parked.Adoptions);
        Assert.Contains("poison guard", parked.Reason, StringComparison.Ordinal);
        Assert.Contains("MaxAdoptions is 3", parked.Reason, StringComparison.Ordinal);
        Assert.Equal(Successor, parked.History[^1].Daemon);
    }

    [Fact]
    public void ATerminalRecordIsNeverParkedAgain()
    {
        var done = Rebuilding() with { State = RecordState.Done, LastOwner = "daemon-x", LastOwnerLease = 7, Adoptions = 9 };

        var claimed = PoisonGuard.ForClaim(done, Successor, 22, maxAdoptions: 3, T0);

        Assert.Equal(RecordState.Done, claimed.State);
    }
}
