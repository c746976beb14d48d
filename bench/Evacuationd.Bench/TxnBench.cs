using System.Diagnostics;
using Etcdserverpb;
using Evacuationd.Testing.Etcd;
using Google.Protobuf;

namespace Evacuationd.Bench;

/// <summary>Rates of one transaction measurement (txn/s per round).</summary>
internal sealed record TxnRates(IReadOnlyList<double> Sequential, IReadOnlyList<double> Parallel)
{
    public double SequentialMedian => Stats.Median(Sequential);

    public double ParallelMedian => Stats.Median(Parallel);
}

/// <summary>
/// etcd's own compare-and-swap rate: a transaction "mod_revision(key) == last ? put(key)",
/// the shape of every guarded write of the store, sent on the raw no-retry KV client.
/// </summary>
internal static class TxnBench
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    public static async Task<TxnRates> RunAsync(KV.KVClient kv, string prefix, BenchOptions o, CancellationToken ct)
    {
        var value = ByteString.CopyFrom(new byte[256]); // about the size of a small record
        // warm-up: connection, leader, JIT
        await LoopAsync(kv, Key(prefix, "warm"), value, 200, ct);
        var seq = new List<double>();
        var par = new List<double>();
        for (var round = 1; round <= o.TxnRounds; round++)
        {
            var started = Stopwatch.GetTimestamp();
            await LoopAsync(kv, Key(prefix, $"seq-{round}"), value, o.SequentialTxns, ct);
            seq.Add(o.SequentialTxns / Stopwatch.GetElapsedTime(started).TotalSeconds);

            var per = o.ParallelTxns / o.Parallelism;
            started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, o.Parallelism)
                .Select(w => LoopAsync(kv, Key(prefix, $"par-{round}-{w}"), value, per, ct)));
            par.Add(per * o.Parallelism / Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        return new TxnRates(seq, par);
    }

    private static ByteString Key(string prefix, string name) => EtcdTestClient.Bytes($"{prefix}/{name}");

    /// <summary>Creates the key, then <paramref name="count"/> sequential CAS transactions on it.</summary>
    private static async Task LoopAsync(KV.KVClient kv, ByteString key, ByteString value, int count, CancellationToken ct)
    {
        var created = await kv.TxnAsync(new TxnRequest
        {
            Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = key, Value = value } } },
        }, deadline: EtcdTestClient.Deadline(CallDeadline), cancellationToken: ct);
        if (!created.Succeeded)
        {
            throw new InvalidOperationException($"bench key {key.ToStringUtf8()} already exists");
        }
        var last = created.Header.Revision; // the key's mod_revision: nobody else writes it
        for (var i = 0; i < count; i++)
        {
            var r = await kv.TxnAsync(new TxnRequest
            {
                Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = last } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = key, Value = value } } },
            }, deadline: EtcdTestClient.Deadline(CallDeadline), cancellationToken: ct);
            if (!r.Succeeded)
            {
                throw new InvalidOperationException($"compare-and-swap on {key.ToStringUtf8()} failed at revision {last}");
            }
            last = r.Header.Revision;
        }
    }
}
