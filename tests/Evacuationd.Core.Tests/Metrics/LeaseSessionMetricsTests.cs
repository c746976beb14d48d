using Evacuationd.Core.Engine;
using Evacuationd.Core.Metrics;
using Evacuationd.Core.Store;
using Evacuationd.Core.Tests.Engine;
using Evacuationd.Testing.Store;
using Evacuationd.Testing.Time;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Core.Tests.Metrics;

/// <summary>
/// What a lease session records: each answered keepalive's round trip on the session's clock,
/// and each lease lost (store said gone, deadline passed, abandoned), never a revoked one.
/// Synchronisation as in LeaseSessionTests: wait for the keepalive loop's sleep timer before
/// advancing the fake clock, and for the collector to see a measurement; every wait is bounded.
/// </summary>
public sealed class LeaseSessionMetricsTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T = new(2026, 3, 2, 11, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly ObservableFakeTimeProvider _time = new(T);
    private readonly InMemoryEvacuationStore _inner;
    private readonly TestMeterFactory _factory = new();
    private readonly EvacuationMetrics _metrics;
    private readonly MetricCollector<double> _renewals;
    private readonly MetricCollector<long> _losses;
    private LeaseSession? _session;

    public LeaseSessionMetricsTests()
    {
        _inner = new InMemoryEvacuationStore(_time);
        _metrics = new EvacuationMetrics(_factory);
        _renewals = new MetricCollector<double>(_metrics.Meter, "evacuationd.lease.renew.duration");
        _losses = new MetricCollector<long>(_metrics.Meter, "evacuationd.lease.losses");
    }

    public async ValueTask DisposeAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
        }
        _renewals.Dispose();
        _losses.Dispose();
        _factory.Dispose();
        _inner.Dispose();
    }

    private async Task<LeaseSession> StartAsync(IEvacuationStore? store = null, bool start = true)
    {
        var lease = await _inner.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), Ttl, CancellationToken.None);
        _session = new LeaseSession(store ?? _inner, lease, _time.GetUtcNow(), _time, Interval, NullLogger.Instance, _metrics);
        if (start)
        {
            _session.Start();
        }
        return _session;
    }

    private static Task WhenLost(LeaseSession s)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        s.Lost.Register(() => tcs.TrySetResult());
        return tcs.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task EachRenewalIsTimedOnTheSessionClock()
    {
        await StartAsync(new SlowKeepAlive(_inner, _time, TimeSpan.FromMilliseconds(250)));

        for (var i = 1; i <= 3; i++)
        {
            await _time.WaitForArmedTimersAsync(i, Bound);
            _time.Advance(Interval);
            await _renewals.WaitForMeasurementsAsync(i, Bound);
        }

        Assert.Equal([0.25, 0.25, 0.25], _renewals.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Empty(_renewals.LastMeasurement!.Tags);
        Assert.Empty(_losses.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task AKeepAliveWithoutAnswerIsNoRoundTrip()
    {
        var probe = new KeepAliveProbe(_inner, _time) { Behaviour = KeepAliveProbe.Mode.Throws };
        var session = await StartAsync(probe);
        await _time.WaitForArmedTimersAsync(1, Bound);

        _time.Advance(Interval);
        await probe.NextAsync();
        await _time.WaitForArmedTimersAsync(2, Bound); // the loop sleeps before trying again

        Assert.Empty(_renewals.GetMeasurementSnapshot());
        Assert.False(session.IsLost);
        Assert.Empty(_losses.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task ALeaseTheStoreNoLongerHasIsOneLoss()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);
        await _inner.RevokeLeaseAsync(session.Lease, CancellationToken.None); // gone behind its back

        _time.Advance(Interval);
        await WhenLost(session);
        _time.Advance(Ttl); // the deadline passes too: still one loss

        Assert.Equal(1, Assert.Single(_losses.GetMeasurementSnapshot()).Value);
        Assert.Empty(_losses.LastMeasurement!.Tags);
        Assert.Single(_renewals.GetMeasurementSnapshot()); // the store did answer
    }

    [Fact]
    public async Task ALeaseWhoseDeadlinePassesIsOneLoss()
    {
        var session = await StartAsync(start: false);

        _time.Advance(Ttl);
        await WhenLost(session);

        Assert.Equal(1, Assert.Single(_losses.GetMeasurementSnapshot()).Value);
    }

    [Fact]
    public async Task AnAbandonedLeaseIsOneLoss()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);

        session.Abandon();
        _time.Advance(Ttl);

        Assert.Equal(1, Assert.Single(_losses.GetMeasurementSnapshot()).Value);
        Assert.Empty(_renewals.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task ARevokedLeaseIsNoLoss()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);

        await session.RevokeAsync(CancellationToken.None).WaitAsync(Bound);
        _time.Advance(Ttl * 2); // its deadline passes after the revocation

        Assert.True(session.IsLost);
        Assert.Empty(_losses.GetMeasurementSnapshot());
    }

    /// <summary>A store whose keepalive takes <paramref name="takes"/> on the fake clock.</summary>
    private sealed class SlowKeepAlive(IEvacuationStore inner, ObservableFakeTimeProvider time, TimeSpan takes) : DelegatingEvacuationStore(inner)
    {
        public override Task<KeepAliveResult> KeepAliveAsync(DaemonLease lease, CancellationToken ct)
        {
            time.Advance(takes);
            return base.KeepAliveAsync(lease, ct);
        }
    }
}
