using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator.Model;

public sealed partial class SimulatedCloud
{
    private const string DestHostIp = "127.0.0.1";

    private readonly List<SimMigration> _migrations = [];
    private readonly List<EvacuateCallRecord> _evacuateCalls = [];
    private readonly Queue<EvacuationJob> _waitingRebuilds = new();
    private int _nextMigrationId = 1;
    private int _duplicateEvacuations;
    private int _runningRebuilds;

    /// <summary>
    /// The evacuate action as Nova Zed answers it (checks in Nova's order: unknown instance 404,
    /// unknown target host 404, target same as source 400, vm_state not active/stopped/error 409,
    /// source compute service up 400). On success a migration <c>accepted</c> is created at once and
    /// the work runs on the model's clock: at 0.2 R the destination is scheduled (migration
    /// <c>pre-migrating</c>, task_state rebuild_spawning, or NoValidHost: migration <c>error</c>,
    /// vm_state error); at 0.7 R the instance reads ACTIVE with task_state null while its host is still
    /// the source; at R it is on the destination and the migration is <c>done</c>. An evacuate accepted
    /// while one is in flight creates a migration stuck in <c>accepted</c> and makes the first end in
    /// error (InstanceExists) with its migration <c>failed</c>.
    /// </summary>
    /// <returns>The id of the created migration, or the error answered.</returns>
    public SimOutcome<int> Evacuate(string uuid, string? targetHost = null, string? requestId = null)
    {
        lock (_gate)
        {
            var now = Advance();
            var outcome = EvacuateLocked(uuid, targetHost, now, out var source, out var duplicate);
            var sourceHost = source is not null && _hostsByName.TryGetValue(source, out var sh) ? sh : null;
            _evacuateCalls.Add(new EvacuateCallRecord(
                now,
                uuid,
                source,
                targetHost,
                outcome.Ok ? 200 : outcome.Error!.Status,
                requestId,
                sourceHost?.ForcedDown ?? false,
                sourceHost is null ? null : ServiceState(sourceHost, now),
                duplicate));
            return outcome;
        }
    }

    /// <summary>Counts an evacuate call the HTTP layer refused before reaching the model (body validation).</summary>
    public void RecordRejectedEvacuate(string uuid, int status, string? requestId)
    {
        lock (_gate)
        {
            var now = Advance();
            var source = _instances.TryGetValue(uuid, out var i) && !i.Deleted ? i.Host : null;
            var host = source is not null && _hostsByName.TryGetValue(source, out var h) ? h : null;
            _evacuateCalls.Add(new EvacuateCallRecord(
                now, uuid, source, null, status, requestId, host?.ForcedDown ?? false, host is null ? null : ServiceState(host, now), false));
        }
    }

    /// <summary>Every evacuate call answered so far, oldest first.</summary>
    public IReadOnlyList<EvacuateCallRecord> GetEvacuateCalls()
    {
        lock (_gate)
        {
            Advance();
            return _evacuateCalls.ToList();
        }
    }

    /// <summary>Migrations matching the filter, newest first.</summary>
    public IReadOnlyList<MigrationSnapshot> ListMigrations(MigrationFilter? filter = null)
    {
        filter ??= new MigrationFilter();
        lock (_gate)
        {
            Advance();
            return _migrations
                .Where(m => filter.InstanceUuid is null || m.InstanceUuid == filter.InstanceUuid)
                .Where(m => filter.MigrationType is null || m.MigrationType == filter.MigrationType)
                .Where(m => filter.Status is null || m.Status == filter.Status)
                .Where(m => filter.SourceCompute is null || m.SourceCompute == filter.SourceCompute)
                .Where(m => filter.Host is null || m.SourceCompute == filter.Host || m.DestCompute == filter.Host)
                .Where(m => filter.ChangesSince is not { } since || (m.UpdatedAt is { } u && u >= since))
                .OrderByDescending(m => m.Id)
                .Select(MigrationView)
                .ToList();
        }
    }

    private SimOutcome<int> EvacuateLocked(string uuid, string? targetHost, DateTimeOffset now, out string? source, out bool duplicate)
    {
        source = null;
        duplicate = false;
        if (!TryLive(uuid, out var instance))
        {
            return InstanceNotFound(uuid);
        }

        source = instance.Host;
        if (targetHost is not null)
        {
            if (!_hostsByName.ContainsKey(targetHost))
            {
                return SimError.NotFound($"Compute host {targetHost} not found.");
            }

            if (targetHost == instance.Host)
            {
                return SimError.BadRequest("The target host can't be the same one.");
            }
        }

        if (instance.VmState is not (VmStates.Active or VmStates.Stopped or VmStates.Error))
        {
            return SimError.Conflict($"Cannot 'evacuate' instance {uuid} while it is in vm_state {instance.VmState}");
        }

        if (instance.Host is null || !_hostsByName.TryGetValue(instance.Host, out var sourceHost))
        {
            return SimError.NotFound($"Compute host {instance.Host ?? "None"} could not be found.");
        }

        if (IsServiceUp(sourceHost, now))
        {
            return SimError.BadRequest($"Compute service of {sourceHost.Name} is still in use.");
        }

        var migration = new SimMigration
        {
            Id = _nextMigrationId++,
            Uuid = NewUuid(),
            InstanceUuid = uuid,
            SourceCompute = sourceHost.Name,
            UserId = _adminUserId,
            ProjectId = _adminProjectId,
            CreatedAt = now,
            DestCompute = targetHost,
        };
        _migrations.Add(migration);
        var finalVmState = instance.VmState == VmStates.Stopped ? VmStates.Stopped : VmStates.Active;
        instance.TaskState = TaskStates.Rebuilding;
        instance.Touch(now);

        if (instance.ActiveEvacuation is { } running)
        {
            // Zed accepts it; the second rebuild never starts and the first one then fails.
            duplicate = true;
            running.Duplicated = true;
            _duplicateEvacuations++;
            return SimOutcome.Success(migration.Id);
        }

        var job = new EvacuationJob
        {
            Instance = instance,
            Migration = migration,
            Source = sourceHost.Name,
            RequestedHost = targetHost,
            FinalVmState = finalVmState,
        };
        DrawEvacuationFaults(job);
        instance.ActiveEvacuation = job;
        if (Options.MaxParallelRebuilds > 0 && _runningRebuilds >= Options.MaxParallelRebuilds)
        {
            _waitingRebuilds.Enqueue(job);
        }
        else
        {
            StartRebuild(job, now);
        }

        return SimOutcome.Success(migration.Id);
    }

    /// <summary>The conductor takes the job: its timeline (0.2 R, 0.7 R, R) runs from <paramref name="start"/>.</summary>
    private void StartRebuild(EvacuationJob job, DateTimeOffset start)
    {
        job.Running = true;
        _runningRebuilds++;
        Schedule(start + Fraction(0.2), at => ScheduleEvacuation(job, start, at));
    }

    /// <summary>The job no longer occupies the conductor; the next waiting one starts now.</summary>
    private void ReleaseRebuild(EvacuationJob job, DateTimeOffset at)
    {
        if (!job.Running)
        {
            return;
        }

        job.Running = false;
        _runningRebuilds--;
        while (_waitingRebuilds.Count > 0 && (Options.MaxParallelRebuilds <= 0 || _runningRebuilds < Options.MaxParallelRebuilds))
        {
            var next = _waitingRebuilds.Dequeue();
            if (!Abandoned(next))
            {
                StartRebuild(next, at);
            }
        }
    }

    private static bool Abandoned(EvacuationJob job) => job.Instance.Deleted || !ReferenceEquals(job.Instance.ActiveEvacuation, job);

    /// <summary>0.2 R: the conductor asks the scheduler for a destination.</summary>
    private void ScheduleEvacuation(EvacuationJob job, DateTimeOffset start, DateTimeOffset at)
    {
        if (Abandoned(job))
        {
            ReleaseRebuild(job, at);
            return;
        }

        var instance = job.Instance;
        SimHost? dest;
        if (job.InjectNoValidHost)
        {
            dest = null;
            _faults.Count(FaultKinds.NoValidHost);
        }
        else if (job.RequestedHost is { } requested)
        {
            dest = _hostsByName.TryGetValue(requested, out var r) && r.Name != job.Source && IsSchedulable(r, at) ? r : null;
        }
        else
        {
            dest = PickHost(job.Source, at);
        }

        if (dest is null)
        {
            job.Migration.Set(MigrationStatuses.Error, at);
            instance.VmState = VmStates.Error;
            instance.TaskState = null;
            instance.Fault = NoValidHostFault(at);
            instance.ActiveEvacuation = null;
            instance.Touch(at);
            ReleaseRebuild(job, at);
            return;
        }

        job.Destination = dest.Name;
        job.Migration.DestCompute = dest.Name;
        job.Migration.DestHost = DestHostIp;
        job.Migration.Set(MigrationStatuses.PreMigrating, at);
        instance.PendingHost = dest.Name;
        instance.TaskState = TaskStates.RebuildSpawning;
        instance.Touch(at);
        Schedule(start + Fraction(0.7), t => RebuildSpawned(job, t));
        Schedule(start + Options.Rebuild, t => FinishEvacuation(job, t));
    }

    /// <summary>0.7 R: the "ACTIVE before moved" window: task_state null, host still the source.</summary>
    private void RebuildSpawned(EvacuationJob job, DateTimeOffset at)
    {
        if (Abandoned(job) || !DestinationAlive(job))
        {
            ReleaseRebuild(job, at);
            return;
        }

        if (job.InjectRebuildError)
        {
            return; // a rebuild that will fail never shows the ACTIVE window
        }

        var instance = job.Instance;
        instance.TaskState = null;
        instance.VmState = job.FinalVmState;
        instance.PowerState = PowerStates.For(job.FinalVmState);
        instance.Touch(at);
    }

    /// <summary>R: the instance is on the destination and the migration is done (or, after a duplicate, the rebuild fails).</summary>
    private void FinishEvacuation(EvacuationJob job, DateTimeOffset at)
    {
        ReleaseRebuild(job, at);
        if (Abandoned(job) || !DestinationAlive(job))
        {
            return;
        }

        var instance = job.Instance;
        instance.ActiveEvacuation = null;
        instance.PendingHost = null;
        instance.TaskState = null;
        instance.Touch(at);
        if (job.Duplicated)
        {
            job.Migration.Set(MigrationStatuses.Failed, at);
            instance.VmState = VmStates.Error;
            instance.Fault = new InstanceFault(
                500,
                $"Instance instance-{instance.Sequence:x8} already exists.",
                "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/nova/compute/manager.py\", in rebuild_instance\n" +
                $"nova.exception.InstanceExists: Instance instance-{instance.Sequence:x8} already exists.\n",
                at);
            return;
        }

        if (job.InjectRebuildError)
        {
            // A failed rebuild: the instance stays on the source host in error.
            _faults.Count(FaultKinds.EvacuateError);
            job.Migration.Set(MigrationStatuses.Error, at);
            instance.VmState = VmStates.Error;
            instance.PowerState = PowerStates.NoState;
            instance.Fault = new InstanceFault(
                500,
                $"Rebuild of instance {instance.Uuid} failed on {job.Destination}: evacsim injected fault evacuate-error",
                "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/nova/compute/manager.py\", in rebuild_instance\n" +
                $"nova.exception.BuildAbortException: Build of instance {instance.Uuid} aborted: evacsim injected fault evacuate-error\n",
                at);
            return;
        }

        instance.Host = job.Destination;
        instance.VmState = job.FinalVmState;
        instance.PowerState = PowerStates.For(job.FinalVmState);
        instance.LaunchedAt = at;
        job.Migration.Set(MigrationStatuses.Done, at);
    }

    /// <summary>A rebuild whose destination lost power stalls (as with a dead nova-compute: the cast is lost);
    /// it is failed when that host comes back (see <see cref="FailStalledRebuilds"/>).</summary>
    private bool DestinationAlive(EvacuationJob job) =>
        job.Destination is { } d && _hostsByName.TryGetValue(d, out var h) && h.Powered;

    /// <summary>nova-compute init_host on the destination: rebuilds interrupted by its death end in error.</summary>
    private void FailStalledRebuilds(SimHost host, DateTimeOffset at)
    {
        foreach (var instance in _instances.Values)
        {
            if (instance.ActiveEvacuation is { } job && !instance.Deleted && job.Destination == host.Name && job.Migration.Status == MigrationStatuses.PreMigrating
                && at >= job.Migration.CreatedAt + Options.Rebuild)
            {
                job.Migration.Set(MigrationStatuses.Failed, at);
                ReleaseRebuild(job, at);
                instance.ActiveEvacuation = null;
                instance.PendingHost = null;
                instance.VmState = VmStates.Error;
                instance.TaskState = null;
                instance.Fault = new InstanceFault(500, "Compute host restarted during rebuild", "nova-compute init_host: instance was rebuilding", at);
                instance.Touch(at);
            }
        }
    }

    private static MigrationSnapshot MigrationView(SimMigration m) => new(
        m.Id,
        m.Uuid,
        m.Status,
        m.InstanceUuid,
        m.MigrationType,
        m.SourceCompute,
        m.SourceCompute,
        m.DestCompute,
        m.DestCompute,
        m.DestHost,
        m.CreatedAt,
        m.UpdatedAt,
        m.UserId,
        m.ProjectId);
}
