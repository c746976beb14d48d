using Evacuationd.Core.Records;

namespace Evacuationd.Core.Workflow;

/// <summary>How an operator's request changes a record, applied by the daemon that owns it. Pure.</summary>
public static class OperatorRequests
{
    /// <summary>Why a request cannot be accepted for the record as it is now, or null.</summary>
    public static string? WhyRefused(InstanceRecord r, OperatorAction action) => action switch
    {
        OperatorAction.Retry when r.State is not (RecordState.Failed or RecordState.Skipped or RecordState.Cancelled) =>
            $"record {r.Id} is {r.State.Name()}: only failed, skipped or cancelled records can be retried",
        OperatorAction.Cancel when r.IsTerminal =>
            $"record {r.Id} already ended ({r.State.Name()}): nothing to cancel",
        _ => null,
    };

    /// <summary>
    /// The record with the request applied, or null when it no longer applies (the record
    /// moved on since: e.g. a retry of a record that is running again). Retry gives the record
    /// <c>MaxAttempts</c> new attempts; cancel marks it, the workflow ends it as soon as no
    /// attempt is in flight.
    /// </summary>
    public static InstanceRecord? Apply(InstanceRecord r, OperatorRequest request, DateTimeOffset now, string daemon)
    {
        if (WhyRefused(r, request.Action) is not null)
        {
            return null;
        }
        var by = $"{request.By}" + (request.Reason.Length > 0 ? $": {request.Reason}" : "");
        return request.Action switch
        {
            OperatorAction.Retry => (r with
            {
                AttemptBase = r.Attempt,
                CancelRequested = false,
                Adoptions = 0,
                NotBefore = null,
                OutcomeUnknownSince = null,
                Slot = null,
            }).MoveTo(RecordState.Accepted, $"retried by {by}", now, daemon),
            _ => (r with { CancelRequested = true }).Note($"cancel requested by {by}", now, daemon),
        };
    }
}
