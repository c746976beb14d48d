using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Api;

/// <summary>The operation cannot be done in the current state; the message says why and what to do.</summary>
public sealed class PreconditionException(string message) : Exception(message);

/// <summary>
/// What operators change: the global hold, held hosts, requests on records (applied by the
/// records' owners), and putting a recovered host back into service (S7). Every write is a
/// compare-and-swap on records nobody owns, or a request; none bypasses ownership (S3).
/// </summary>
public sealed class OperatorActions(IEvacuationStore store, TimeProvider time, IComputeClient compute)
{
    private const int MaxRounds = 8;

    /// <summary>How long a release waits for Nova to accept forced_down=false. Default 20 s.</summary>
    public TimeSpan ReleaseWait { get; init; } = TimeSpan.FromSeconds(20);

    public Task<ControlState> HoldAsync(string reason, string by, CancellationToken ct) =>
        UpdateControlAsync(c => c with { Held = true, HeldReason = reason.Length > 0 ? reason : "no reason given", HeldBy = by, HeldAt = time.GetUtcNow() }, ct);

    /// <summary>Ends the global hold and lets every held host go on (as confirmed).</summary>
    public async Task<(ControlState Control, IReadOnlyList<HostRecord> Released)> ResumeAsync(string by, CancellationToken ct)
    {
        var control = await UpdateControlAsync(c => c with { Held = false, HeldReason = null, HeldBy = null, HeldAt = null }, ct).ConfigureAwait(false);
        var released = new List<HostRecord>();
        foreach (var h in (await store.ListHostsAsync(ct).ConfigureAwait(false)).Where(h => h.Value.State == HostState.Held))
        {
            if (await TryConfirmAsync(h.Value.Name, $"resumed by {by}", ct).ConfigureAwait(false) is { } r)
            {
                released.Add(r);
            }
        }
        return (control, released);
    }

    /// <summary>Releases one host held by the blast-radius guard or a global hold.</summary>
    public async Task<HostRecord> ConfirmAsync(string host, string by, CancellationToken ct)
    {
        var current = await store.GetHostAsync(host, ct).ConfigureAwait(false) ?? throw new NotFoundException($"host '{RequestValidationException.Shown(host)}' has never been fenced");
        if (current.Value.State != HostState.Held)
        {
            throw new PreconditionException($"host {host} is not held (its fencing {current.Value.EvacuationId} is {current.Value.State.Name()})");
        }
        return await TryConfirmAsync(host, $"confirmed by {by}", ct).ConfigureAwait(false)
               ?? throw new PreconditionException($"host {host} is no longer held");
    }

    /// <summary>Stores a retry or cancel request for a record; its owner applies it.</summary>
    public async Task<RecordView> RequestAsync(string idOrUuid, OperatorAction action, string reason, string by, CancellationToken ct)
    {
        var view = await new EvacuationQueries(store).GetRecordAsync(idOrUuid, ct).ConfigureAwait(false);
        if (OperatorRequests.WhyRefused(view.Record, action) is { } why)
        {
            throw new PreconditionException(why);
        }
        await store.PutRequestAsync(new OperatorRequest(view.Record.Id, action, reason, by, time.GetUtcNow()), ct).ConfigureAwait(false);
        return view;
    }

    /// <summary>
    /// Puts a host whose fencing ended back into service (S7): Nova's forced_down cleared
    /// (Nova refuses while `done` evacuation migrations remain: retried until the host's
    /// restarted nova-compute cleaned up, within <see cref="ReleaseWait"/>), the service enabled,
    /// and the host record marked released.
    /// </summary>
    public async Task<HostRecord> ReleaseHostAsync(string host, string by, CancellationToken ct)
    {
        var current = await store.GetHostAsync(host, ct).ConfigureAwait(false) ?? throw new NotFoundException($"host '{RequestValidationException.Shown(host)}' has never been fenced");
        var h = current.Value;
        if (h.State == HostState.Released)
        {
            return h;
        }
        if (!h.IsTerminal)
        {
            throw new PreconditionException($"fencing {h.EvacuationId} of {host} is still {h.State.Name()}: release the host after it ended");
        }
        var pending = (await store.ListInstancesAsync(host, h.FenceGeneration, ct).ConfigureAwait(false)).Count(r => !r.Value.IsTerminal);
        if (pending > 0)
        {
            throw new PreconditionException($"{pending} record(s) of fencing {h.EvacuationId} have not ended: release the host after they did");
        }
        var service = await compute.FindComputeServiceAsync(host, ct).ConfigureAwait(false)
                      ?? throw new PreconditionException($"Nova has no nova-compute service on host '{host}'");
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            wait.CancelAfter(ReleaseWait);
            try
            {
                await compute.ReleaseServiceAsync(service, enable: true, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new PreconditionException($"Nova still refuses to return {host} to service after {ReleaseWait.TotalSeconds:0} s (its `done` evacuation migrations remain): start its nova-compute, which cleans them up, then release again");
            }
        }
        var now = time.GetUtcNow();
        var released = (h with { ReleasedAt = now }).MoveTo(HostState.Released, $"returned to service by {by}: forced_down cleared, service enabled", now, by);
        var write = await store.PutHostIfAsync(released, current.Revision, ct).ConfigureAwait(false);
        return write.Ok ? released : throw new PreconditionException($"the host record of {host} changed meanwhile; release again");
    }

    private async Task<HostRecord?> TryConfirmAsync(string host, string why, CancellationToken ct)
    {
        for (var round = 0; round < MaxRounds; round++)
        {
            var current = await store.GetHostAsync(host, ct).ConfigureAwait(false);
            if (current is null || current.Value.State != HostState.Held)
            {
                return null;
            }
            var next = current.Value.MoveTo(HostState.Planning, why, time.GetUtcNow(), why);
            if ((await store.PutHostIfAsync(next, current.Revision, ct).ConfigureAwait(false)).Ok)
            {
                return next;
            }
        }
        throw new StoreUnavailableException($"the host record of {host} kept changing");
    }

    private async Task<ControlState> UpdateControlAsync(Func<ControlState, ControlState> change, CancellationToken ct)
    {
        for (var round = 0; round < MaxRounds; round++)
        {
            var current = await store.GetControlAsync(ct).ConfigureAwait(false);
            var next = change(current?.Value ?? ControlState.Initial);
            if ((await store.PutControlIfAsync(next, current?.Revision ?? 0, ct).ConfigureAwait(false)).Ok)
            {
                return next;
            }
        }
        throw new StoreUnavailableException("the control record kept changing");
    }
}
