using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator.Model;

public sealed partial class SimulatedCloud
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>nova-compute services, optionally filtered by binary and host.</summary>
    public IReadOnlyList<ServiceSnapshot> ListServices(string? binary = null, string? host = null)
    {
        lock (_gate)
        {
            var now = Advance();
            if (binary is not null && binary != "nova-compute")
            {
                return [];
            }

            return _hosts.Where(h => host is null || h.Name == host).Select(h => ServiceView(h, now)).ToList();
        }
    }

    /// <summary>The service of a host, or null.</summary>
    public ServiceSnapshot? GetService(string host)
    {
        lock (_gate)
        {
            var now = Advance();
            return _hostsByName.TryGetValue(host, out var h) ? ServiceView(h, now) : null;
        }
    }

    /// <summary>
    /// PUT os-services/{uuid} (2.53+): any of forced_down, status (enabled|disabled) and disabled_reason.
    /// Refuses to force a host up while <c>done</c> evacuation migrations from it remain. A firing
    /// <c>refuse-force-down</c> fault answers a force-down (forced_down true) with 500 and changes nothing.
    /// </summary>
    public SimOutcome<ServiceSnapshot> UpdateService(string serviceId, bool? forcedDown, string? status, string? disabledReason)
    {
        lock (_gate)
        {
            var now = Advance();
            var host = _hosts.FirstOrDefault(h => h.ServiceUuid == serviceId);
            if (host is null)
            {
                return SimError.NotFound($"Service {serviceId} could not be found.");
            }

            if (forcedDown is null && status is null)
            {
                return SimError.BadRequest("No updates were requested. Specify 'status' and/or 'forced_down'.");
            }

            if (status is not null and not ("enabled" or "disabled"))
            {
                return SimError.BadRequest($"Invalid input for field/attribute status. Value: {status}. '{status}' is not one of ['enabled', 'disabled']");
            }

            if (disabledReason is not null && status != "disabled")
            {
                return SimError.BadRequest("Specifying a disabled reason is not supported unless disabling the service.");
            }

            if (forcedDown == false && _migrations.Any(m => m.MigrationType == "evacuation" && m.SourceCompute == host.Name && m.Status == MigrationStatuses.Done))
            {
                return SimError.BadRequest(
                    $"Unable to force up host {host.Name} as `done` evacuation migration records remain associated with the host. " +
                    "Ensure the compute service has been restarted, allowing these records to move to `completed` before retrying this request.");
            }

            if (forcedDown == true && RefusesForceDown(host))
            {
                _faults.Count(FaultKinds.RefuseForceDown);
                return new SimError(
                    500,
                    "computeFault",
                    "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n" +
                    $"<class 'nova.exception.ServiceNotUpdated'> (evacsim injected fault refuse-force-down on {host.Name})");
            }

            if (status == "disabled")
            {
                host.Disabled = true;
                host.DisabledReason = disabledReason;
            }
            else if (status == "enabled")
            {
                host.Disabled = false;
                host.DisabledReason = null;
            }

            if (forcedDown is { } fd)
            {
                host.ForcedDown = fd;
            }

            host.LastServiceUpdate = now;
            return SimOutcome.Success(ServiceView(host, now));
        }
    }

    /// <summary>"up" unless forced down or powered off for longer than service_down_time.</summary>
    private string ServiceState(SimHost h, DateTimeOffset at) => IsServiceUp(h, at) ? "up" : "down";

    private bool IsServiceUp(SimHost h, DateTimeOffset at)
    {
        if (h.ForcedDown)
        {
            return false;
        }

        return h.Powered || h.PoweredOffAt is not { } off || at - off <= Options.ServiceDownTime;
    }

    /// <summary>Can the scheduler place work on this host at <paramref name="at"/>?</summary>
    private bool IsSchedulable(SimHost h, DateTimeOffset at) => !h.Disabled && !h.ForcedDown && IsServiceUp(h, at);

    private string HostStatus(SimHost h, DateTimeOffset at)
    {
        if (h.ForcedDown)
        {
            return "DOWN";
        }

        if (h.Disabled)
        {
            return "MAINTENANCE";
        }

        return IsServiceUp(h, at) ? "UP" : "UNKNOWN";
    }

    /// <summary>updated_at: the last heartbeat (every 10 s while powered) or the last change.</summary>
    private static DateTimeOffset? ServiceUpdatedAt(SimHost h, DateTimeOffset now)
    {
        DateTimeOffset heartbeat;
        if (h.Powered)
        {
            var since = now - h.PoweredOnAt;
            heartbeat = now - TimeSpan.FromTicks(since.Ticks % ReportInterval.Ticks);
        }
        else
        {
            heartbeat = h.PoweredOffAt ?? now;
        }

        return h.LastServiceUpdate is { } changed && changed > heartbeat ? changed : heartbeat;
    }

    private ServiceSnapshot ServiceView(SimHost h, DateTimeOffset now) => new(
        h.ServiceUuid,
        h.Number,
        "nova-compute",
        h.Name,
        ServiceState(h, now),
        h.Disabled ? "disabled" : "enabled",
        h.DisabledReason,
        h.ForcedDown,
        ServiceUpdatedAt(h, now),
        "nova");

    private HostSnapshot HostView(SimHost h, DateTimeOffset now) => new(
        h.Name,
        h.Powered,
        ServiceState(h, now),
        h.ForcedDown,
        h.Disabled ? "disabled" : "enabled",
        h.DisabledReason,
        _instances.Values.Count(i => !i.Deleted && i.Host == h.Name),
        h.ServiceUuid,
        h.HypervisorUuid,
        h.Number);

    /// <summary>Number of instances on or bound for a host (what the scheduler weighs).</summary>
    private int Load(string host) => _instances.Values.Count(i => !i.Deleted && (i.Host == host || i.PendingHost == host));

    /// <summary>The schedulable host with the fewest instances (ties by name), other than <paramref name="exclude"/>.</summary>
    private SimHost? PickHost(string? exclude, DateTimeOffset at) => _hosts
        .Where(h => h.Name != exclude && IsSchedulable(h, at))
        .OrderBy(h => Load(h.Name))
        .ThenBy(h => h.Name, StringComparer.Ordinal)
        .FirstOrDefault();
}
