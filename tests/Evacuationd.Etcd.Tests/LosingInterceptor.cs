using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Evacuationd.Etcd.Tests;

/// <summary>
/// Makes chosen etcd transactions end without a usable answer, the way a leader change or a
/// timeout does: either after etcd applied them (the answer is lost) or before they were sent.
/// </summary>
internal sealed class LosingInterceptor : Interceptor
{
    private readonly object _gate = new();
    private Func<TxnRequest, bool>? _loseAnswer;
    private Func<TxnRequest, bool>? _failBeforeSend;

    public int AnswersLost { get; private set; }

    public int NotSent { get; private set; }

    /// <summary>The next transaction matching <paramref name="match"/> is applied by etcd, but its caller sees Unavailable.</summary>
    public void LoseNextAnswer(Func<TxnRequest, bool> match)
    {
        lock (_gate)
        {
            _loseAnswer = match;
        }
    }

    /// <summary>The next transaction matching <paramref name="match"/> fails with Unavailable before it reaches etcd.</summary>
    public void FailNextBeforeSend(Func<TxnRequest, bool> match)
    {
        lock (_gate)
        {
            _failBeforeSend = match;
        }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (request is TxnRequest txn)
        {
            if (Take(ref _failBeforeSend, txn))
            {
                NotSent++;
                var status = new Status(StatusCode.Unavailable, "test: not sent");
                return new AsyncUnaryCall<TResponse>(Task.FromException<TResponse>(new RpcException(status)), Task.FromResult(new Metadata()), () => status, () => [], () => { });
            }
            if (Take(ref _loseAnswer, txn))
            {
                AnswersLost++;
                var call = continuation(request, context);
                return new AsyncUnaryCall<TResponse>(LoseAsync(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
            }
        }
        return continuation(request, context);
    }

    private static async Task<TResponse> LoseAsync<TResponse>(Task<TResponse> real)
    {
        await real.ConfigureAwait(false); // etcd applied it
        throw new RpcException(new Status(StatusCode.Unavailable, "test: the answer was lost"));
    }

    private bool Take(ref Func<TxnRequest, bool>? slot, TxnRequest txn)
    {
        lock (_gate)
        {
            if (slot is not null && slot(txn))
            {
                slot = null;
                return true;
            }
            return false;
        }
    }
}
