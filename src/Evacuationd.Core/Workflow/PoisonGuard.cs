using Evacuationd.Core.Records;

namespace Evacuationd.Core.Workflow;

/// <summary>
/// Ownership bookkeeping done with every claim, and the poison guard: a record whose owners
/// keep dying (or whose runners keep failing) while handling it is parked as failed after
/// <c>maxAdoptions</c>, so that it cannot take every daemon down in turn.
/// </summary>
public static class PoisonGuard
{
    /// <summary>
    /// The record as the claim writes it: this daemon and lease noted as its owner, one more
    /// adoption if the previous owner left it without a clean handover, and — past the limit —
    /// parked as failed.
    /// </summary>
    public static InstanceRecord ForClaim(InstanceRecord r, string daemon, long leaseId, int maxAdoptions, DateTimeOffset now)
    {
        var adopted = r.LastOwner is not null && !r.HandedOver && r.LastOwnerLease != leaseId;
        var next = r with
        {
            LastOwner = daemon,
            LastOwnerLease = leaseId,
            HandedOver = false,
            Adoptions = r.Adoptions + (adopted ? 1 : 0),
        };
        if (!next.IsTerminal && next.Adoptions > maxAdoptions)
        {
            return next.MoveTo(RecordState.Failed,
                $"parked by the poison guard: taken over {next.Adoptions} times after its owner died or failed while handling it (Engine:MaxAdoptions is {maxAdoptions}); " +
                $"look for daemon crashes in the logs around this record, check the instance in Nova, then retry", now, daemon);
        }
        return next;
    }

    /// <summary>The record as a runner that failed unexpectedly leaves it: counted like an owner death.</summary>
    public static InstanceRecord AfterRunnerFailure(InstanceRecord r, string error, DateTimeOffset now, string daemon) =>
        (r with { Adoptions = r.Adoptions + 1, Error = error, LastOwner = null, HandedOver = false })
            .Note($"the runner handling this record failed ({error}); it is released for another try", now, daemon);

    /// <summary>The record as a graceful stop hands it over: the next claim is not an adoption.</summary>
    public static InstanceRecord HandOver(InstanceRecord r) => r with { HandedOver = true };
}
