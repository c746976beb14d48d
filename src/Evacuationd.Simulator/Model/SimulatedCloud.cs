using System.Globalization;
using Evacuationd.Simulator.Faults;

namespace Evacuationd.Simulator.Model;

/// <summary>
/// The simulated cloud: compute hosts, their nova-compute services, instances, migrations,
/// Keystone tokens and Glance images. Thread-safe (one lock). Time comes from the injected
/// <see cref="TimeProvider"/> and state advances lazily: every public call first runs the
/// scheduled work whose due time has passed, in due-time order.
/// </summary>
public sealed partial class SimulatedCloud
{
    /// <summary>Id of the fixed image every cloud has.</summary>
    public const string DefaultImageId = "5c1a4e3e-7d2b-4c8f-9a61-3b7e2f0d9c11";

    /// <summary>Id of the fixed flavor (m1.small).</summary>
    public const string DefaultFlavorId = "1";

    private readonly Lock _gate = new();
    private readonly Random _random;
    private readonly List<SimHost> _hosts = [];
    private readonly Dictionary<string, SimHost> _hostsByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimInstance> _instances = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Action<DateTimeOffset>, (DateTimeOffset Due, long Seq)> _events = new();
    private long _eventSeq;
    private long _instanceSeq;

    /// <summary>Creates an empty cloud (no hosts, the fixed image and flavor, projects admin and demo).
    /// Throws <see cref="ArgumentException"/> when a rule of <see cref="SimulatorOptions.Faults"/> is invalid.</summary>
    public SimulatedCloud(SimulatorOptions? options = null, TimeProvider? time = null)
    {
        Options = options ?? new SimulatorOptions();
        Time = time ?? TimeProvider.System;
        _random = new Random(Options.Seed);
        _faults = new FaultInjector(Options.Faults, Options.Seed);
        _maxMicroversion = Options.MaxMicroversion;
        InitIdentity();
    }

    /// <summary>The options this cloud was built with.</summary>
    public SimulatorOptions Options { get; }

    /// <summary>The model's clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>Model time now.</summary>
    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Creates a cloud with <see cref="SimulatorOptions.Hosts"/> hosts named compute-01, ...
    /// and <see cref="SimulatorOptions.InstancesPerHost"/> active instances on each (vm-compute-01-01, ...),
    /// owned by the project "demo".</summary>
    public static SimulatedCloud CreatePopulated(SimulatorOptions? options = null, TimeProvider? time = null)
    {
        var cloud = new SimulatedCloud(options, time);
        var o = cloud.Options;
        var hostWidth = Math.Max(2, o.Hosts.ToString(CultureInfo.InvariantCulture).Length);
        var vmWidth = Math.Max(2, o.InstancesPerHost.ToString(CultureInfo.InvariantCulture).Length);
        for (var h = 1; h <= o.Hosts; h++)
        {
            cloud.AddHost("compute-" + h.ToString(CultureInfo.InvariantCulture).PadLeft(hostWidth, '0'));
        }

        foreach (var host in cloud.HostNames())
        {
            for (var i = 1; i <= o.InstancesPerHost; i++)
            {
                cloud.AddInstance(host, $"vm-{host}-{i.ToString(CultureInfo.InvariantCulture).PadLeft(vmWidth, '0')}");
            }
        }

        return cloud;
    }

    /// <summary>Adds a powered, enabled compute host with its nova-compute service.</summary>
    public HostSnapshot AddHost(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (_gate)
        {
            var now = Advance();
            if (_hostsByName.ContainsKey(name))
            {
                throw new ArgumentException($"host {name} already exists", nameof(name));
            }

            var host = new SimHost
            {
                Name = name,
                Number = _hosts.Count + 1,
                ServiceUuid = NewUuid(),
                HypervisorUuid = NewUuid(),
                PoweredOnAt = now,
                LastServiceUpdate = now,
            };
            _hosts.Add(host);
            _hostsByName.Add(name, host);
            return HostView(host, now);
        }
    }

    /// <summary>Names of all hosts, in creation order.</summary>
    public IReadOnlyList<string> HostNames()
    {
        lock (_gate)
        {
            Advance();
            return _hosts.Select(h => h.Name).ToList();
        }
    }

    /// <summary>All hosts.</summary>
    public IReadOnlyList<HostSnapshot> GetHosts()
    {
        lock (_gate)
        {
            var now = Advance();
            return _hosts.Select(h => HostView(h, now)).ToList();
        }
    }

    /// <summary>One host, or null.</summary>
    public HostSnapshot? GetHost(string name)
    {
        lock (_gate)
        {
            var now = Advance();
            return _hostsByName.TryGetValue(name, out var h) ? HostView(h, now) : null;
        }
    }

    /// <summary>The host dies: its nova-compute stops heartbeating (the service reads down after
    /// <see cref="SimulatorOptions.ServiceDownTime"/>). Throws <see cref="KeyNotFoundException"/> for an unknown host.</summary>
    public HostSnapshot PowerOff(string name)
    {
        lock (_gate)
        {
            var now = Advance();
            var host = RequireHost(name);
            if (host.Powered)
            {
                host.Powered = false;
                host.PoweredOffAt = now;
                host.PowerEpoch++;
            }

            return HostView(host, now);
        }
    }

    /// <summary>The host and its nova-compute come back (service up unless forced down); after
    /// <see cref="SimulatorOptions.Cleanup"/> the evacuation migrations from this host that are
    /// <c>done</c> become <c>completed</c>. Throws <see cref="KeyNotFoundException"/> for an unknown host.</summary>
    public HostSnapshot PowerOn(string name)
    {
        lock (_gate)
        {
            var now = Advance();
            var host = RequireHost(name);
            if (!host.Powered)
            {
                host.Powered = true;
                host.PoweredOffAt = null;
                host.PoweredOnAt = now;
                host.LastServiceUpdate = now;
                var epoch = ++host.PowerEpoch;
                Schedule(now + Options.Cleanup, at => CleanupEvacuated(host, epoch, at));
                FailStalledRebuilds(host, now);
            }

            return HostView(host, now);
        }
    }

    private void CleanupEvacuated(SimHost host, long epoch, DateTimeOffset at)
    {
        if (!host.Powered || host.PowerEpoch != epoch)
        {
            return;
        }

        foreach (var m in _migrations)
        {
            if (m.MigrationType == "evacuation" && m.SourceCompute == host.Name && m.Status == MigrationStatuses.Done)
            {
                m.Set(MigrationStatuses.Completed, at);
            }
        }
    }

    /// <summary>Runs the work due by now; the caller holds the lock.</summary>
    private DateTimeOffset Advance()
    {
        var now = Time.GetUtcNow();
        while (_events.TryPeek(out var action, out var key) && key.Due <= now)
        {
            _events.Dequeue();
            action(key.Due);
        }

        return now;
    }

    private void Schedule(DateTimeOffset due, Action<DateTimeOffset> action) =>
        _events.Enqueue(action, (due, _eventSeq++));

    private SimHost RequireHost(string name) =>
        _hostsByName.TryGetValue(name, out var h) ? h : throw new KeyNotFoundException($"Compute host {name} could not be found.");

    /// <summary>A random (seeded) version-4 UUID.</summary>
    private string NewUuid()
    {
        Span<byte> b = stackalloc byte[16];
        _random.NextBytes(b);
        b[6] = (byte)((b[6] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b, bigEndian: true).ToString("D");
    }

    /// <summary>A random 32-hex-digit id as Keystone uses for users and projects.</summary>
    private string NewHexId() => NewUuid().Replace("-", string.Empty, StringComparison.Ordinal);

    private TimeSpan Fraction(double f) => TimeSpan.FromTicks((long)(Options.Rebuild.Ticks * f));
}
