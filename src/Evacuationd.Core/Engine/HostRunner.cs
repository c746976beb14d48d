using Evacuationd.Core.Compute;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;

namespace Evacuationd.Core.Engine;

/// <summary>
/// Drives one host fencing: force the nova-compute service down, disable it, list its
/// servers, commit the instance records with the host update, and hand the host back. Once
/// every record of the fencing ended, the scheduler offers the host again and a runner
/// records the outcome (no daemon holds a slot for a host while its instances run).
///
/// Checkpoints, for a daemon dying at each point (what a successor sees):
/// <list type="number">
/// <item>Host "planning" committed by the intake (the acknowledged fence, S2), nothing
/// else: the successor plans from the start.</item>
/// <item>Service forced down / disabled in Nova, nothing new in the store: the successor
/// sees "planning", finds the service already forced down and goes on (idempotent).</item>
/// <item>Plan committed (records + host "evacuating" in one guarded write): instance records
/// exist only after the force-down (S1); re-planning creates no duplicates because record
/// ids are derived from host, generation and instance. What the plan read of Nova is kept
/// in memory only (it spares this daemon's runners their first read); a successor's runners
/// read Nova themselves.</item>
/// <item>Host "done"/"failed" committed: nothing left.</item>
/// </list>
/// </summary>
internal sealed class HostRunner(RunnerContext ctx)
{
    private Versioned<HostRecord> _current = null!;
    private Ownership? _own;

    /// <summary>
    /// The service as Nova answered this runner's last update of it (force-down, disable): the
    /// next planning step decides from it instead of reading the service again. Nova's answer
    /// to the write is at least as fresh as a read after it.
    /// </summary>
    private ComputeService? _answered;

    public async Task RunAsync(string host, CancellationToken lost, CancellationToken stopping)
    {
        var found = await ctx.Store.GetHostAsync(host, lost).ConfigureAwait(false);
        if (found is null || found.Value.State is HostState.Held or HostState.Released)
        {
            return;
        }
        _current = found;
        using var scope = ctx.Log.BeginScope(new Dictionary<string, object?>
        {
            ["Host"] = host,
            ["EvacuationId"] = found.Value.EvacuationId,
            ["Daemon"] = ctx.DaemonId,
        });
        var claim = await ctx.Store.TryClaimHostAsync(ctx.Session.Lease, host, found.Revision, null, lost).ConfigureAwait(false);
        if (!claim.Claimed)
        {
            return;
        }
        _own = claim.Ownership;
        _current = claim.Record!;
        EngineLog.Claimed(ctx.Log, $"host {host}", _current.Value.State.Name());
        ctx.Metrics?.Claimed("host", adopted: false);
        try
        {
            await LoopAsync(lost, stopping).ConfigureAwait(false);
        }
        finally
        {
            if (_own is not null && !lost.IsCancellationRequested)
            {
                await ctx.Store.ReleaseAsync(_own, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task LoopAsync(CancellationToken lost, CancellationToken stopping)
    {
        while (_own is not null)
        {
            lost.ThrowIfCancellationRequested();
            if (stopping.IsCancellationRequested)
            {
                return;
            }
            var h = _current.Value;
            var step = h.State switch
            {
                HostState.Planning => await PlanningStepAsync(h, lost).ConfigureAwait(false),
                HostState.Evacuating => HostWorkflow.DecideCompletion(h, ctx.View.InstancesOf(h.Name, h.FenceGeneration), ctx.Now, ctx.DaemonId),
                _ => HostWorkflow.DecideReopen(h, ctx.View.InstancesOf(h.Name, h.FenceGeneration), ctx.Now, ctx.DaemonId),
            };
            switch (step)
            {
                case HostStep.Finished:
                    return;
                case HostStep.Write w:
                    await WriteAsync(w.Next, lost).ConfigureAwait(false);
                    break;
                case HostStep.Wait when h.State == HostState.Evacuating:
                    // Records still running: the host needs no daemon until they end (the
                    // scheduler offers it again then), so do not hold a slot while waiting.
                    return;
                case HostStep.Wait wait:
                    await ctx.DelayUntilAsync(wait.Until, null, stopping).ConfigureAwait(false);
                    break;
                case HostStep.ForceDown f:
                    // S1: the service goes down in Nova before any record (and so any evacuate) exists.
                    EngineLog.ForcingDown(ctx.Log, h.Name, f.Service.Id);
                    _answered = await NovaAsync(() => ctx.Compute.ForceDownAsync(f.Service, lost), lost).ConfigureAwait(false);
                    break;
                case HostStep.Disable d:
                    _answered = await NovaAsync(() => ctx.Compute.DisableAsync(d.Service, d.Reason, lost), lost).ConfigureAwait(false);
                    break;
                case HostStep.Plan p:
                    await PlanAsync(h, p.Service, lost).ConfigureAwait(false);
                    break;
            }
        }
    }

    private async Task<HostStep> PlanningStepAsync(HostRecord h, CancellationToken lost)
    {
        if (h.NotBefore is { } nb && ctx.Now < nb)
        {
            return new HostStep.Wait(nb, "planning backoff");
        }
        var service = _answered;
        _answered = null;
        try
        {
            service ??= await ctx.Compute.FindComputeServiceAsync(h.Name, lost).ConfigureAwait(false);
        }
        catch (ComputeException ex)
        {
            return new HostStep.Write(HostWorkflow.PlanningFailed(h, ex.Message, ctx.Options.Planning, ctx.Now, ctx.DaemonId));
        }
        return HostWorkflow.DecidePlanning(h, service, ctx.Options.Planning, ctx.Now, ctx.DaemonId);
    }

    private async Task PlanAsync(HostRecord h, ComputeService service, CancellationToken lost)
    {
        IReadOnlyList<ServerView> servers;
        // The host's evacuation migrations are read alongside: with the servers, they serve the
        // first observation of the records planned here (NovaObserver.Seed), which then start
        // their attempts without a read of their own. Without them the runners read as usual.
        var readStarted = ctx.Now;
        var migrations = ListMigrationsOrNullAsync(h.Name, lost);
        IReadOnlyList<ServerView> listed;
        try
        {
            servers = listed = await ctx.Compute.ListServersOnHostAsync(h.Name, lost).ConfigureAwait(false);
            if (ctx.Options.Planning.Evacuable.Mode == EvacuableMode.ImageProperty)
            {
                servers = await WithImagePropertiesAsync(servers, lost).ConfigureAwait(false);
            }
        }
        catch (ComputeException ex)
        {
            await WriteAsync(HostWorkflow.PlanningFailed(h, ex.Message, ctx.Options.Planning, ctx.Now, ctx.DaemonId), lost).ConfigureAwait(false);
            return;
        }
        var now = ctx.Now;
        var records = HostPlanner.Plan(h, servers, ctx.Options.Planning, now, ctx.DaemonId);
        var next = HostWorkflow.Planned(h, service, records, now, ctx.DaemonId);
        // Checkpoint 3: records and the host update in one guarded write.
        var result = await ctx.Store.CommitPlanAsync(_own!, next, _current.Revision, records, lost).ConfigureAwait(false);
        if (!result.Ok)
        {
            EngineLog.WriteRefused(ctx.Log, $"host {h.Name}", result.Status.ToString(), result.Detail);
            _own = null;
            return;
        }
        _current = new Versioned<HostRecord>(next, result.Revision);
        if (await migrations.ConfigureAwait(false) is { } known)
        {
            ctx.Observer.Seed(h.Name, readStarted, listed, known, records);
        }
        EngineLog.Planned(ctx.Log, h.Name, records.Count);
        foreach (var ended in records.Where(r => r.IsTerminal))
        {
            ctx.Metrics?.RecordEnded(ended.State.Name(), (now - h.ReportedAt).TotalSeconds); // skipped at planning
        }
        EngineLog.Transition(ctx.Log, $"host {h.Name}", h.State.Name(), next.State.Name(), next.Reason);
    }

    private async Task<IReadOnlyList<MigrationView>?> ListMigrationsOrNullAsync(string host, CancellationToken lost)
    {
        try
        {
            return await ctx.Compute.ListEvacuationMigrationsFromHostAsync(host, lost).ConfigureAwait(false);
        }
        catch (ComputeException)
        {
            return null;
        }
    }

    private async Task<IReadOnlyList<ServerView>> WithImagePropertiesAsync(IReadOnlyList<ServerView> servers, CancellationToken lost)
    {
        var cache = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var result = new List<ServerView>(servers.Count);
        foreach (var s in servers)
        {
            if (s.ImageId is not { Length: > 0 } image)
            {
                result.Add(s);
                continue;
            }
            if (!cache.TryGetValue(image, out var props))
            {
                props = await ctx.Compute.GetImagePropertiesAsync(image, lost).ConfigureAwait(false);
                cache[image] = props;
            }
            result.Add(s with { ImageProperties = props });
        }
        return result;
    }

    /// <summary>A service update; its answer, or null (the failure written) when Nova refused or did not answer.</summary>
    private async Task<ComputeService?> NovaAsync(Func<Task<ComputeService>> call, CancellationToken lost)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ComputeException ex)
        {
            EngineLog.NovaFailed(ctx.Log, $"host {_current.Value.Name}", ex.Message, ex.RequestId);
            await WriteAsync(HostWorkflow.PlanningFailed(_current.Value, ex.Message, ctx.Options.Planning, ctx.Now, ctx.DaemonId), lost).ConfigureAwait(false);
            return null;
        }
    }

    private async Task WriteAsync(HostRecord next, CancellationToken lost)
    {
        var before = _current.Value;
        var result = await ctx.Store.UpdateHostAsync(_own!, next, _current.Revision, release: next.IsTerminal, lost).ConfigureAwait(false);
        if (!result.Ok)
        {
            EngineLog.WriteRefused(ctx.Log, $"host {next.Name}", result.Status.ToString(), result.Detail);
            _own = null;
            return;
        }
        _current = new Versioned<HostRecord>(next, result.Revision);
        if (next.IsTerminal)
        {
            _own = null;
        }
        EngineLog.Transition(ctx.Log, $"host {next.Name}", before.State.Name(), next.State.Name(), next.Reason);
    }
}
