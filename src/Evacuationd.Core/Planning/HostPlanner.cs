using System.Globalization;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Planning;

/// <summary>
/// Turns the servers Nova lists on a fenced host into the fencing's instance records:
/// selected and evacuable ones <see cref="RecordState.Accepted"/>, the others
/// <see cref="RecordState.Skipped"/> with the reason, ordered by priority (higher first),
/// then name. Pure and deterministic: planning the same fencing again yields the same ids.
/// </summary>
public static class HostPlanner
{
    public static IReadOnlyList<InstanceRecord> Plan(HostRecord host, IReadOnlyList<ServerView> servers, PlanningOptions options, DateTimeOffset now, string daemon)
    {
        var onHost = servers
            .Where(s => InstanceWorkflow.SameHost(s.Host, host.Name))
            .GroupBy(s => s.Id, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.First())
            .ToList();
        var planned = $"planned for fencing {host.EvacuationId} reported by {host.Source.Name()}" +
                      (host.Reporter.Length > 0 ? $" ({host.Reporter})" : "");
        var records = new List<InstanceRecord>(onHost.Count);
        foreach (var s in onHost)
        {
            var record = new InstanceRecord
            {
                Id = RecordIds.ForInstance(host.Name, host.FenceGeneration, s.Id),
                InstanceUuid = s.Id,
                InstanceName = s.Name,
                SourceHost = host.Name,
                FenceGeneration = host.FenceGeneration,
                State = RecordState.Accepted,
                StateSince = now,
                Reason = planned,
                Priority = PriorityOf(s, options.PriorityMetadataKey),
                CreatedAt = now,
                UpdatedAt = now,
                History = [new Transition(now, "", RecordState.Accepted.Name(), planned, daemon)],
            };
            var skip = EvacuableFilter.WhyNotSelected(s, options.Evacuable)
                       ?? (InstanceWorkflow.EvacuableVmStates.Contains(s.VmState)
                           ? null
                           : $"vm_state '{s.VmState}' cannot be evacuated (Nova evacuates active, stopped or error instances); reset the instance's state to error and retry it");
            records.Add(skip is null ? record : record.MoveTo(RecordState.Skipped, skip, now, daemon));
        }
        return records
            .OrderByDescending(r => r.Priority)
            .ThenBy(r => r.InstanceName, StringComparer.Ordinal)
            .ThenBy(r => r.InstanceUuid, StringComparer.Ordinal)
            .ToList();
    }

    private static int PriorityOf(ServerView s, string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return 0;
        }
        var found = s.Metadata.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase));
        return found.Key is not null && int.TryParse(found.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : 0;
    }
}
