using System.Threading.Channels;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;

namespace Evacuationd.Core.Tests.Engine;

/// <summary>A store whose keepalives a test watches and breaks at will.</summary>
public sealed class KeepAliveProbe(IEvacuationStore inner, TimeProvider time) : DelegatingEvacuationStore(inner)
{
    public enum Mode
    {
        PassThrough,
        /// <summary>The store cannot be reached: every keepalive throws.</summary>
        Throws,
        /// <summary>The store never answers (until the caller gives up).</summary>
        Hangs,
    }

    public sealed record Seen(DateTimeOffset At, KeepAliveResult? Result);

    private readonly Channel<Seen> _seen = Channel.CreateUnbounded<Seen>();
    private int _count;
    private volatile Mode _mode = Mode.PassThrough;

    public Mode Behaviour
    {
        get => _mode;
        set => _mode = value;
    }

    public int Count => Volatile.Read(ref _count);

    public override async Task<KeepAliveResult> KeepAliveAsync(DaemonLease lease, CancellationToken ct)
    {
        var at = time.GetUtcNow();
        Interlocked.Increment(ref _count);
        switch (_mode)
        {
            case Mode.Throws:
                _seen.Writer.TryWrite(new Seen(at, null));
                throw new StoreUnavailableException("etcd: request timed out");
            case Mode.Hangs:
                _seen.Writer.TryWrite(new Seen(at, null));
                await Task.Delay(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
                throw new InvalidOperationException("unreachable");
            default:
                var result = await Inner.KeepAliveAsync(lease, ct).ConfigureAwait(false);
                _seen.Writer.TryWrite(new Seen(at, result));
                return result;
        }
    }

    /// <summary>The next keepalive the store saw (bounded wait).</summary>
    public async Task<Seen> NextAsync() => await _seen.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
}
