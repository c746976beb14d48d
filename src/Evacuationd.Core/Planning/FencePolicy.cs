using Evacuationd.Core.Records;

namespace Evacuationd.Core.Planning;

/// <summary>A fencing report as it reaches the core (from the fence agent or an operator).</summary>
public sealed record FenceReport(
    string Host,
    FenceSource Source,
    string Reporter,
    string? EventId = null,
    long Generation = 0,
    DateTimeOffset? FencedAt = null,
    string Reason = "",
    bool ConfirmedPoweredOff = false);

public enum FenceOutcome
{
    /// <summary>A new fence generation is to be committed.</summary>
    Created,
    /// <summary>The report belongs to the host's current fencing: nothing new.</summary>
    Duplicate,
    /// <summary>A replay older than the host's last return to service: ignored.</summary>
    Stale,
}

/// <summary>The decision on a report: the record to commit (Created) or the one that stands.</summary>
public sealed record FenceDecision(FenceOutcome Outcome, HostRecord Host, string Message);

/// <summary>
/// S1: only a trusted, fresh fencing starts an evacuation, and each fencing only once.
/// Pure: given the host's current record (or none) and a report, decide.
/// </summary>
public static class FencePolicy
{
    /// <summary>Problems with the report itself, each naming the field (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(FenceReport report)
    {
        var errors = new List<string>();
        if (RecordIds.HostNameProblem(report.Host) is { } problem)
        {
            errors.Add(problem);
        }
        if (report.Source == FenceSource.Operator && !report.ConfirmedPoweredOff)
        {
            errors.Add("confirm_powered_off must be true: an operator-reported fence needs the operator's confirmation that the host is powered off");
        }
        if (report.Generation < 0)
        {
            errors.Add($"fence_generation must not be negative (got {report.Generation})");
        }
        if (report.EventId is { Length: > 256 })
        {
            errors.Add("event_id is longer than 256 characters");
        }
        if (report.Reason.Length > 1024)
        {
            errors.Add("reason is longer than 1024 characters");
        }
        if (report.Reporter.Length > 256)
        {
            errors.Add("reporter is longer than 256 characters");
        }
        return errors;
    }

    public static FenceDecision Decide(HostRecord? current, FenceReport report, DateTimeOffset now, string daemon)
    {
        if (current is null)
        {
            // Generations are the daemon's to assign; a reporter's number only detects repeats.
            return Create(report, 1, now, daemon, null);
        }
        var gen = current.FenceGeneration;
        if (report.Generation > 0 && report.Generation < gen)
        {
            return new(FenceOutcome.Stale, current,
                $"report for fence generation {report.Generation} of {current.Name} is older than its current fencing {gen}: ignored");
        }
        if (report.Generation == gen)
        {
            return new(FenceOutcome.Duplicate, current, $"fencing {current.EvacuationId} is already recorded ({current.State.Name()})");
        }
        if (report.EventId is { Length: > 0 } eventId && eventId == current.EventId)
        {
            return new(FenceOutcome.Duplicate, current, $"event {eventId} is fencing {current.EvacuationId}, already recorded ({current.State.Name()})");
        }
        if (!current.IsTerminal)
        {
            return new(FenceOutcome.Duplicate, current,
                $"{current.Name} is already being handled as fencing {current.EvacuationId} ({current.State.Name()}): nothing new started");
        }
        if (current.State == HostState.Released)
        {
            if (report.FencedAt is { } fencedAt && current.ReleasedAt is { } releasedAt && fencedAt < releasedAt)
            {
                return new(FenceOutcome.Stale, current,
                    $"report of a fencing at {fencedAt:O} predates {current.Name}'s return to service at {releasedAt:O}: ignored");
            }
            return Create(report, gen + 1, now, daemon, current);
        }
        if (current.State == HostState.Failed && !current.Planned)
        {
            // The previous fencing failed before any instance record existed (e.g. Nova
            // unreachable): a new report is the way to try again.
            return Create(report, gen + 1, now, daemon, current);
        }
        return new(FenceOutcome.Duplicate, current,
            $"fencing {current.EvacuationId} ended {current.State.Name()} and {current.Name} was not returned to service since: nothing new to evacuate (use retry on failed records)");
    }

    private static FenceDecision Create(FenceReport report, long generation, DateTimeOffset now, string daemon, HostRecord? previous)
    {
        var by = report.Source.Name() + (report.Reporter.Length > 0 ? $" ({report.Reporter})" : "");
        var reason = $"fenced, reported by {by}" + (report.Reason.Length > 0 ? $": {report.Reason}" : "");
        var host = new HostRecord
        {
            Name = report.Host,
            FenceGeneration = generation,
            State = HostState.Planning,
            StateSince = now,
            Reason = reason,
            Source = report.Source,
            Reporter = report.Reporter,
            EventId = string.IsNullOrEmpty(report.EventId) ? null : report.EventId,
            FenceReason = report.Reason,
            FencedAt = report.FencedAt ?? now,
            ReportedAt = now,
            UpdatedAt = now,
            History = [new Transition(now, previous?.State.Name() ?? "", HostState.Planning.Name(), reason, daemon)],
        };
        var message = previous is null
            ? $"fencing {host.EvacuationId} recorded"
            : $"fencing {host.EvacuationId} recorded (previous fencing {previous.EvacuationId} ended {previous.State.Name()})";
        return new(FenceOutcome.Created, host, message);
    }

}
