using Evacuationd.Core.Planning;
using Evacuationd.Core.Store;

namespace Evacuationd.Core.Api;

/// <summary>
/// Takes fencing reports in (S1, S2): validates them, decides new / duplicate / stale with
/// <see cref="FencePolicy"/>, and answers only after the new host record is committed.
/// </summary>
public sealed class FenceIntake(IEvacuationStore store, TimeProvider time, string daemonId)
{
    private const int MaxRounds = 8;

    /// <summary>
    /// Returns once the decision is durable: for <see cref="FenceOutcome.Created"/> the host
    /// record is committed; for duplicates and stale reports nothing was written.
    /// Throws <see cref="RequestValidationException"/> for a bad report and
    /// <see cref="StoreUnavailableException"/> when the store did not confirm.
    /// </summary>
    public async Task<FenceDecision> ReportAsync(FenceReport report, CancellationToken ct)
    {
        var errors = FencePolicy.Validate(report);
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }
        for (var round = 0; round < MaxRounds; round++)
        {
            var current = await store.GetHostAsync(report.Host, ct).ConfigureAwait(false);
            var decision = FencePolicy.Decide(current?.Value, report, time.GetUtcNow(), daemonId);
            if (decision.Outcome != FenceOutcome.Created)
            {
                return decision;
            }
            var result = await store.PutHostIfAsync(decision.Host, current?.Revision ?? 0, ct).ConfigureAwait(false);
            if (result.Ok)
            {
                return decision; // S2: committed before the answer.
            }
            // Conflict: another report or an owner changed the record meanwhile; decide again.
        }
        throw new StoreUnavailableException($"the host record of {report.Host} kept changing during {MaxRounds} attempts to record the fence; try again");
    }
}
