using Evacuationd.Agent.Decisions;
using Evacuationd.Agent.Ports;
using Evacuationd.Contracts.V1;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.Work;

/// <summary>What the guard did in one pass, ready for ReportGuard.</summary>
internal sealed record GuardReport(IReadOnlyList<GuardAction> Actions, bool Clean)
{
    public ReportGuardRequest Request(string host)
    {
        var request = new ReportGuardRequest { Host = host, Clean = Clean };
        request.Actions.AddRange(Actions);
        return request;
    }
}

/// <summary>
/// The split-brain guard: hard-stops every local guest that the daemon lists as evacuated
/// away (its evacuate call was sent or may have been sent, so the instance may already run
/// on another host from the same disks) and nothing else; then looks again to tell whether
/// the host is clean. It never starts a guest.
/// </summary>
internal sealed class SplitBrainGuard(IHypervisor hypervisor, ILogger logger)
{
    /// <summary>Action names in <see cref="GuardAction.Action"/>.</summary>
    public const string Destroyed = "destroyed";
    public const string DestroyFailed = "destroy-failed";
    public const string ListFailed = "list-failed";
    public const string NotAUuid = "not-a-uuid";

    public async Task<GuardReport> RunAsync(CheckInResponse checkIn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkIn);
        var evacuated = GuardDecision.Parse(checkIn.EvacuatedAway);
        var actions = new List<GuardAction>();
        foreach (var bad in evacuated.Where(e => e.Uuid is null))
        {
            logger.NotAUuid(bad.Instance.InstanceUuid, bad.Instance.RecordId);
            actions.Add(new GuardAction { InstanceUuid = bad.Instance.InstanceUuid, Action = NotAUuid, Ok = false, Detail = "not a UUID: cannot be looked for locally" });
        }

        if (evacuated.Count == 0)
        {
            return new GuardReport(actions, Clean: true);
        }

        // 1. Which guests run here now.
        var running = await ListAsync(actions, cancellationToken).ConfigureAwait(false);
        if (running is null)
        {
            return new GuardReport(actions, Clean: false);
        }

        // 2. Destroy exactly the evacuated ones among them.
        var targets = GuardDecision.ToDestroy(evacuated, running);
        foreach (var target in targets)
        {
            var instance = target.Instance;
            try
            {
                var detail = await hypervisor.DestroyAsync(target.Uuid!.Value, cancellationToken).ConfigureAwait(false);
                logger.GuestDestroyed(instance.InstanceUuid, Destination(instance), instance.RecordId, instance.FenceGeneration, detail);
                actions.Add(new GuardAction { InstanceUuid = instance.InstanceUuid, Action = Destroyed, Ok = true, Detail = detail });
            }
            catch (HypervisorException e)
            {
                logger.DestroyFailed(instance.InstanceUuid, Destination(instance), instance.RecordId, e.Message);
                actions.Add(new GuardAction { InstanceUuid = instance.InstanceUuid, Action = DestroyFailed, Ok = false, Detail = e.Message });
            }
        }

        // 3. Clean only if a fresh look shows none of them (a destroy may have failed, or a guest come back).
        if (targets.Count > 0)
        {
            running = await ListAsync(actions, cancellationToken).ConfigureAwait(false);
            if (running is null)
            {
                return new GuardReport(actions, Clean: false);
            }
        }

        var clean = GuardDecision.IsClean(evacuated, running);
        if (clean)
        {
            logger.GuardClean(evacuated.Count);
        }
        else
        {
            var still = evacuated.Where(e => e.Uuid is { } u && running.Contains(u)).Select(e => e.Instance.InstanceUuid).ToList();
            if (still.Count > 0)
            {
                logger.StillRunning(string.Join(", ", still));
            }
        }

        return new GuardReport(actions, clean);
    }

    private async Task<IReadOnlySet<Guid>?> ListAsync(List<GuardAction> actions, CancellationToken cancellationToken)
    {
        try
        {
            return await hypervisor.ListRunningAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HypervisorException e)
        {
            logger.ListFailed(hypervisor.Name, e.Message);
            actions.Add(new GuardAction { Action = ListFailed, Ok = false, Detail = e.Message });
            return null;
        }
    }

    private static string Destination(EvacuatedInstance instance) =>
        instance.DestinationHost.Length > 0 ? instance.DestinationHost : "(not known yet)";
}
