using dotnet_etcd;
using Etcdserverpb;
using Evacuationd.Core.Store;

namespace Evacuationd.Etcd.Tests;

/// <summary>
/// etcd's leases run on etcd's own clock, a real external process: these helpers wait for
/// it, bounded by deadlines, and prefer asking etcd (is the lease gone yet?) to sleeping.
/// </summary>
internal static class RealTime
{
    /// <summary>Lets real time pass (for a lease's TTL to run down partly).</summary>
    public static Task PassAsync(TimeSpan duration) => Task.Delay(duration);

    /// <summary>Waits until etcd has dropped <paramref name="lease"/> (TTL -1), polling with a deadline.</summary>
    public static async Task UntilLeaseGoneAsync(EtcdClient client, DaemonLease lease, TimeSpan? deadline = null)
    {
        using var cts = new CancellationTokenSource(deadline ?? lease.Ttl + TimeSpan.FromSeconds(10));
        var lessor = client.GetConnection().LeaseClient;
        while (true)
        {
            var ttl = await lessor.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease.LeaseId }, cancellationToken: cts.Token);
            if (ttl.TTL < 0)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(50, ttl.TTL * 250)), cts.Token);
        }
    }
}
