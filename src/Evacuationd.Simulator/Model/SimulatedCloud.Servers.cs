using System.Globalization;

namespace Evacuationd.Simulator.Model;

public sealed partial class SimulatedCloud
{
    /// <summary>Adds an instance already running on <paramref name="host"/> (owned by the project "demo");
    /// returns its uuid. <paramref name="imageId"/> must name a known image (default: the fixed image).</summary>
    public string AddInstance(
        string host,
        string name,
        string vmState = "active",
        IReadOnlyDictionary<string, string>? metadata = null,
        IEnumerable<string>? tags = null,
        IReadOnlyDictionary<string, string>? flavorExtraSpecs = null,
        string? imageId = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(vmState);
        lock (_gate)
        {
            var now = Advance();
            RequireHost(host);
            if (!VmStates.Known.Contains(vmState))
            {
                throw new ArgumentException($"unknown vm_state {vmState}", nameof(vmState));
            }

            var image = imageId ?? DefaultImageId;
            if (!_images.ContainsKey(image))
            {
                throw new ArgumentException($"unknown image {image}", nameof(imageId));
            }

            var instance = NewInstance(name, _demoProjectId, _demoUserId, image, now);
            instance.Host = vmState == VmStates.ShelvedOffloaded ? null : host;
            instance.VmState = vmState;
            instance.PowerState = PowerStates.For(vmState);
            instance.LaunchedAt = vmState == VmStates.Building ? null : now;
            Copy(metadata, instance.Metadata);
            Copy(flavorExtraSpecs, instance.FlavorExtraSpecs);
            if (tags is not null)
            {
                instance.Tags.AddRange(tags);
            }

            return instance.Uuid;
        }
    }

    /// <summary>A snapshot of an instance, or null when unknown or deleted.</summary>
    public InstanceSnapshot? GetInstance(string uuid)
    {
        lock (_gate)
        {
            var now = Advance();
            return _instances.TryGetValue(uuid, out var i) && !i.Deleted ? View(i, now) : null;
        }
    }

    /// <summary>All live instances, newest first.</summary>
    public IReadOnlyList<InstanceSnapshot> ListInstances()
    {
        lock (_gate)
        {
            var now = Advance();
            return Live().Select(i => View(i, now)).ToList();
        }
    }

    /// <summary>One page of servers (newest created first). Returns 400 for an unknown marker.
    /// <c>More</c> is true when the page is full (Nova then adds a "next" link).</summary>
    public SimOutcome<(IReadOnlyList<InstanceSnapshot> Page, bool More)> ListServers(ServerFilter filter, int limit, string? marker)
    {
        ArgumentNullException.ThrowIfNull(filter);
        lock (_gate)
        {
            var now = Advance();
            var source = filter.ChangesSince is { } since
                ? All().Where(i => i.Updated >= since)
                : Live();
            IEnumerable<SimInstance> query = source
                .Where(i => filter.Host is null || i.Host == filter.Host)
                .Where(i => filter.ProjectId is null || i.TenantId == filter.ProjectId)
                .Where(i => filter.Name is null || i.Name.Contains(filter.Name, StringComparison.Ordinal))
                .Where(i => filter.Status is null || string.Equals(NovaStatus.From(i.VmState, i.TaskState), filter.Status, StringComparison.OrdinalIgnoreCase));
            var all = query.ToList();
            var start = 0;
            if (marker is not null)
            {
                var index = all.FindIndex(i => i.Uuid == marker);
                if (index < 0)
                {
                    return SimError.BadRequest($"marker [{marker}] not found");
                }

                start = index + 1;
            }

            var page = all.Skip(start).Take(limit).Select(i => View(i, now)).ToList();
            return SimOutcome.Success<(IReadOnlyList<InstanceSnapshot>, bool)>((page, limit > 0 && page.Count == limit));
        }
    }

    /// <summary>POST /servers: the instance is <c>building</c> and becomes <c>active</c> on the least
    /// loaded schedulable host (or the pinned one) after 0.2 R; NoValidHost puts it in error.</summary>
    public SimOutcome<InstanceSnapshot> Boot(BootRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var now = Advance();
            if (string.IsNullOrWhiteSpace(request.Name))
            {
                return SimError.BadRequest("Invalid input for field/attribute name. Value: . '' is too short");
            }

            if (!_images.ContainsKey(request.ImageId))
            {
                return SimError.BadRequest($"Image {request.ImageId} could not be found.");
            }

            if (request.FlavorId != DefaultFlavorId)
            {
                return SimError.BadRequest($"Flavor {request.FlavorId} could not be found.");
            }

            if (request.Host is not null && !_hostsByName.ContainsKey(request.Host))
            {
                return SimError.BadRequest($"Compute host {request.Host} could not be found.");
            }

            var instance = NewInstance(request.Name, request.TenantId, request.UserId, request.ImageId, now);
            instance.VmState = VmStates.Building;
            instance.TaskState = TaskStates.Scheduling;
            instance.PowerState = PowerStates.NoState;
            Copy(request.Metadata, instance.Metadata);
            if (request.Tags is not null)
            {
                instance.Tags.AddRange(request.Tags);
            }

            var pinned = request.Host;
            Schedule(now + Fraction(0.2), at => FinishBuild(instance, pinned, at));
            return SimOutcome.Success(View(instance, now));
        }
    }

    private void FinishBuild(SimInstance instance, string? pinned, DateTimeOffset at)
    {
        if (instance.Deleted || instance.VmState != VmStates.Building)
        {
            return;
        }

        SimHost? host = pinned is null ? PickHost(null, at)
            : _hostsByName.TryGetValue(pinned, out var p) && p.Powered && IsServiceUp(p, at) ? p : null;
        instance.TaskState = null;
        instance.Touch(at);
        if (host is null)
        {
            instance.VmState = VmStates.Error;
            instance.PowerState = PowerStates.NoState;
            instance.Fault = NoValidHostFault(at);
            return;
        }

        instance.Host = host.Name;
        instance.VmState = VmStates.Active;
        instance.PowerState = PowerStates.Running;
        instance.LaunchedAt = at;
    }

    /// <summary>DELETE /servers/{id}.</summary>
    public SimError? Delete(string uuid)
    {
        lock (_gate)
        {
            var now = Advance();
            if (!TryLive(uuid, out var instance))
            {
                return InstanceNotFound(uuid);
            }

            instance.Deleted = true;
            instance.PendingHost = null;
            instance.ActiveEvacuation = null;
            instance.Touch(now);
            return null;
        }
    }

    /// <summary>lock action; the reason is kept only when given (2.73+).</summary>
    public SimError? Lock(string uuid, string? reason)
    {
        lock (_gate)
        {
            var now = Advance();
            if (!TryLive(uuid, out var instance))
            {
                return InstanceNotFound(uuid);
            }

            instance.Locked = true;
            instance.LockedReason = reason;
            instance.Touch(now);
            return null;
        }
    }

    /// <summary>unlock action.</summary>
    public SimError? Unlock(string uuid)
    {
        lock (_gate)
        {
            var now = Advance();
            if (!TryLive(uuid, out var instance))
            {
                return InstanceNotFound(uuid);
            }

            instance.Locked = false;
            instance.LockedReason = null;
            instance.Touch(now);
            return null;
        }
    }

    /// <summary>os-resetState: vm_state error or active, task_state cleared.</summary>
    public SimError? ResetState(string uuid, string state)
    {
        lock (_gate)
        {
            var now = Advance();
            if (!TryLive(uuid, out var instance))
            {
                return InstanceNotFound(uuid);
            }

            if (state is not (VmStates.Error or VmStates.Active))
            {
                return SimError.BadRequest($"Invalid input for field/attribute state. Value: {state}. '{state}' is not one of ['active', 'error']");
            }

            instance.VmState = state;
            instance.TaskState = null;
            instance.Touch(now);
            return null;
        }
    }

    private SimInstance NewInstance(string name, string tenantId, string userId, string imageId, DateTimeOffset now)
    {
        var instance = new SimInstance
        {
            Uuid = NewUuid(),
            Sequence = ++_instanceSeq,
            Name = name,
            TenantId = tenantId,
            UserId = userId,
            ImageId = imageId,
            Created = now,
            Updated = now,
        };
        _instances.Add(instance.Uuid, instance);
        return instance;
    }

    private IEnumerable<SimInstance> Live() => All().Where(i => !i.Deleted);

    /// <summary>Every instance ever booted, deleted ones too, newest first.</summary>
    private IEnumerable<SimInstance> All() =>
        _instances.Values.OrderByDescending(i => i.Created).ThenByDescending(i => i.Sequence);

    private bool TryLive(string uuid, out SimInstance instance)
    {
        if (_instances.TryGetValue(uuid, out var found) && !found.Deleted)
        {
            instance = found;
            return true;
        }

        instance = null!;
        return false;
    }

    private static SimError InstanceNotFound(string uuid) => SimError.NotFound($"Instance {uuid} could not be found.");

    private static InstanceFault NoValidHostFault(DateTimeOffset at) => new(
        500,
        "No valid host was found. There are not enough hosts available.",
        "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/nova/conductor/manager.py\", in rebuild_instance\n" +
        "nova.exception.NoValidHost: No valid host was found. There are not enough hosts available.\n",
        at);

    private InstanceSnapshot View(SimInstance i, DateTimeOffset now) => new(
        i.Uuid,
        i.Name,
        "instance-" + i.Sequence.ToString("x8", CultureInfo.InvariantCulture),
        i.Sequence,
        i.TenantId,
        i.UserId,
        i.Host,
        i.Deleted ? VmStates.Deleted : i.VmState,
        i.TaskState,
        i.PowerState,
        i.Deleted ? "DELETED" : NovaStatus.From(i.VmState, i.TaskState),
        i.Host is not null && _hostsByName.TryGetValue(i.Host, out var h) ? HostStatus(h, now) : string.Empty,
        new Dictionary<string, string>(i.Metadata, StringComparer.Ordinal),
        i.Tags.ToList(),
        new Dictionary<string, string>(i.FlavorExtraSpecs, StringComparer.Ordinal),
        i.ImageId,
        i.Created,
        i.Updated,
        i.LaunchedAt,
        i.Locked,
        i.LockedReason,
        i.VmState == VmStates.Error ? i.Fault : null);

    private static void Copy(IReadOnlyDictionary<string, string>? from, Dictionary<string, string> to)
    {
        if (from is null)
        {
            return;
        }

        foreach (var (k, v) in from)
        {
            to[k] = v;
        }
    }
}
