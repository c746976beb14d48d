using Evacuationd.Server.Tests.Support;

namespace Evacuationd.Server.Tests;

/// <summary>
/// The embedded default supervises its daemons as `serve` does: a lease that lapsed on its own
/// (a starved machine: renewals late) means a new lease and a new daemon with the same id; a
/// killed daemon stays down (the demo's kill -9 must stay one).
/// </summary>
public sealed class EmbeddedSupervisionTests
{
    [Fact]
    public async Task ADaemonWhoseLeaseLapsedJoinsAgainAndAKilledOneStaysDown()
    {
        await using var t = await TestCloud.StartAsync(daemons: 2);
        var lapsed = t.Cloud.Daemons[0];
        var killed = t.Cloud.Daemons[1];
        var oldLease = lapsed.Session!.Lease.LeaseId;

        // As if its renewals never arrived: the store drops the lease; the daemon finds out at its next renewal.
        await t.Cloud.Store.RevokeLeaseAsync(lapsed.Session.Lease, CancellationToken.None);
        killed.Kill();
        await t.WaitForAsync(s => s.Daemons.Any(d => d.Id == lapsed.Id && d.LeaseId != oldLease), TimeSpan.FromSeconds(30));

        Assert.True(lapsed.LostItsLease);
        Assert.NotSame(lapsed, t.Cloud.Daemons[0]);
        Assert.Equal(lapsed.Id, t.Cloud.Daemons[0].Id);
        Assert.False(t.Cloud.Daemons[0].IsDown);
        Assert.Same(killed, t.Cloud.Daemons[1]);
        Assert.True(killed.IsDown);
        Assert.False(killed.LostItsLease);
    }
}
