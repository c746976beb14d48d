using Evacuationd.Core.Engine;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;
using Evacuationd.Testing.Time;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Core.Tests.Engine;

/// <summary>
/// The lease keepalive loop on a fake clock. Synchronisation: the loop sleeps with
/// Task.Delay(…, timeProvider); a test waits until that sleep's timer is armed before it
/// advances the clock, and waits for the store to see each keepalive. Every wait is bounded.
/// </summary>
public sealed class LeaseSessionTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T = new(2026, 3, 2, 11, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly ObservableFakeTimeProvider _time = new(T);
    private readonly InMemoryEvacuationStore _inner;
    private readonly KeepAliveProbe _probe;
    private LeaseSession? _session;

    public LeaseSessionTests()
    {
        _inner = new InMemoryEvacuationStore(_time);
        _probe = new KeepAliveProbe(_inner, _time);
    }

    public async ValueTask DisposeAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
        }
        _inner.Dispose();
    }

    private async Task<LeaseSession> StartAsync(bool start = true, DateTimeOffset? grantedAt = null)
    {
        var lease = await _inner.GrantLeaseAsync(StoreRecords.Daemon("daemon-a"), Ttl, CancellationToken.None);
        _session = new LeaseSession(_probe, lease, grantedAt ?? _time.GetUtcNow(), _time, Interval, NullLogger.Instance);
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
    public async Task RenewsOnItsIntervalAndOutlivesItsFirstTtl()
    {
        var session = await StartAsync();
        Assert.Equal(T + Ttl, session.Deadline);

        for (var i = 1; i <= 5; i++)
        {
            await _time.WaitForArmedTimersAsync(i, Bound);
            _time.Advance(Interval);
            var seen = await _probe.NextAsync();
            Assert.Equal(T + (Interval * i), seen.At);
            Assert.True(seen.Result!.Value.Alive);
        }
        await _time.WaitForArmedTimersAsync(6, Bound); // the loop sleeps again: the fifth renewal is recorded

        Assert.Equal(5, _probe.Count);
        Assert.False(session.IsLost);
        Assert.Equal(T + (Interval * 5) + Ttl, session.Deadline);
        Assert.True(session.IsValidFor(TimeSpan.FromSeconds(9)));
        var daemon = Assert.Single(await _inner.ListDaemonsAsync(CancellationToken.None));
        Assert.Equal(T + (Interval * 5) + Ttl, daemon.LeaseExpiresAt);
    }

    [Fact]
    public async Task IsLostWhenTheStoreNoLongerHasTheLease()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);
        await _inner.RevokeLeaseAsync(session.Lease, CancellationToken.None); // gone behind its back

        _time.Advance(Interval);

        await WhenLost(session);
        var seen = await _probe.NextAsync();
        Assert.False(seen.Result!.Value.Alive);
        Assert.True(session.IsLost);
        Assert.False(session.IsValidFor(TimeSpan.Zero));
        _time.Advance(Interval * 5);
        Assert.Equal(1, _probe.Count);
    }

    [Theory]
    [InlineData(KeepAliveProbe.Mode.Throws)]
    [InlineData(KeepAliveProbe.Mode.Hangs)]
    public async Task WithoutAcknowledgedRenewalsItIsLostAtLastAcknowledgedSendPlusTtl(KeepAliveProbe.Mode failure)
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);
        _time.Advance(Interval);
        Assert.True((await _probe.NextAsync()).Result!.Value.Alive); // acknowledged, sent at T + 3 s
        await _time.WaitForArmedTimersAsync(2, Bound);
        var deadline = T + Interval + Ttl;
        Assert.Equal(deadline, session.Deadline);

        _probe.Behaviour = failure;
        _time.Advance(Interval);
        Assert.Null((await _probe.NextAsync()).Result); // T + 6 s: the store does not answer
        _time.Advance(deadline - _time.GetUtcNow() - TimeSpan.FromMilliseconds(1));

        Assert.False(session.IsLost, $"lost before the deadline, at {_time.GetUtcNow():O}");
        Assert.True(session.IsValidFor(TimeSpan.Zero));
        Assert.False(session.IsValidFor(TimeSpan.FromMilliseconds(1)));

        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(session.IsLost, $"not lost at the deadline {deadline:O}");
        await WhenLost(session);
        Assert.Equal(deadline, session.Deadline);
        Assert.False(session.IsValidFor(TimeSpan.Zero));
    }

    [Fact]
    public async Task SessionThatIsNeverRenewedIsLostAtGrantPlusTtl()
    {
        var grantedAt = T - TimeSpan.FromSeconds(4);
        var session = await StartAsync(start: false, grantedAt: grantedAt);
        Assert.Equal(grantedAt + Ttl, session.Deadline);

        _time.Advance(TimeSpan.FromSeconds(6) - TimeSpan.FromMilliseconds(1));
        Assert.False(session.IsLost);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(session.IsLost);
        await WhenLost(session);
    }

    [Fact]
    public async Task IsValidForIsFalseWithinTheMarginOfTheDeadline()
    {
        var session = await StartAsync(start: false);
        var margin = TimeSpan.FromSeconds(2);

        Assert.True(session.IsValidFor(margin));
        _time.Advance(Ttl - margin - TimeSpan.FromMilliseconds(1));
        Assert.True(session.IsValidFor(margin));
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.False(session.IsValidFor(margin));
        Assert.True(session.IsValidFor(margin - TimeSpan.FromMilliseconds(1)));
        Assert.False(session.IsLost);
    }

    [Fact]
    public async Task RenewalMovesTheValidityWindow()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);
        _time.Advance(Interval);
        await _probe.NextAsync();
        await _time.WaitForArmedTimersAsync(2, Bound);
        _probe.Behaviour = KeepAliveProbe.Mode.Hangs;

        _time.Advance(TimeSpan.FromSeconds(6)); // T + 9 s: past the first deadline minus margin

        Assert.True(session.IsValidFor(TimeSpan.FromSeconds(2)));
        Assert.False(session.IsValidFor(TimeSpan.FromSeconds(4)));
    }

    [Fact]
    public async Task AbandonCancelsLostWithoutRevokingAndTheLeaseExpiresInTheStore()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);

        session.Abandon();

        Assert.True(session.IsLost);
        await WhenLost(session);
        Assert.Contains(await _inner.ListDaemonsAsync(CancellationToken.None), d => d.Id == "daemon-a");
        _time.Advance(Interval * 3);
        Assert.Equal(0, _probe.Count);
        Assert.Contains(await _inner.ListDaemonsAsync(CancellationToken.None), d => d.Id == "daemon-a");
        _time.Advance(TimeSpan.FromSeconds(1)); // T + 10 s: the TTL since the grant is over
        Assert.DoesNotContain(await _inner.ListDaemonsAsync(CancellationToken.None), d => d.Id == "daemon-a");
    }

    [Fact]
    public async Task RevokeEndsTheLeaseInTheStoreAtOnce()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);

        await session.RevokeAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.True(session.IsLost);
        Assert.Empty(await _inner.ListDaemonsAsync(CancellationToken.None));
        _time.Advance(Interval * 2);
        Assert.Equal(0, _probe.Count);
    }

    [Fact]
    public async Task DisposingTwiceIsHarmless()
    {
        var session = await StartAsync();
        await _time.WaitForArmedTimersAsync(1, Bound);

        await session.DisposeAsync();
        var again = await Record.ExceptionAsync(async () => await session.DisposeAsync());
        _session = null;

        Assert.Null(again);
    }
}
