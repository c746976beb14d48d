using Evacuationd.Core.Engine;
using Evacuationd.Etcd;
using Evacuationd.Nova;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Bench;

/// <summary>
/// The daemons of one bench run, in this process: each with its own etcd connection and Nova
/// client, as separate `evacuationd serve` processes would have; plus one more store (the
/// bench's reporter and observer), its connection warmed before any clock starts.
/// </summary>
internal sealed class BenchDaemons : IAsyncDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly List<EvacuationDaemon> _daemons = [];

    private BenchDaemons(EtcdEvacuationStore observer)
    {
        Observer = observer;
        _owned.Add(observer);
    }

    public EtcdEvacuationStore Observer { get; }

    public static async Task<BenchDaemons> StartAsync(
        int count, string idPrefix, EngineOptions engine, EtcdOptions etcd, NovaClientOptions nova, TimeProvider time, CancellationToken ct)
    {
        var set = new BenchDaemons(new EtcdEvacuationStore(etcd, time));
        try
        {
            for (var i = 1; i <= count; i++)
            {
                var store = new EtcdEvacuationStore(etcd, time);
                set._owned.Add(store);
                var compute = new NovaComputeClient(nova, time);
                set._owned.Add(compute);
                var daemon = new EvacuationDaemon(engine.ForDaemon($"{idPrefix}-{i}"), store, compute, time, NullLoggerFactory.Instance);
                set._daemons.Add(daemon);
                await daemon.StartAsync(ct);
            }
            _ = await set.Observer.ListHostsAsync(ct);
            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in _daemons)
        {
            await d.DisposeAsync();
        }
        foreach (var o in _owned)
        {
            o.Dispose();
        }
    }
}
