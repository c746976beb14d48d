using Evacuationd.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Evacuationd.Cli.Connection;

/// <summary>
/// Operator calls with failover. Servers are tried in order, starting with the one that
/// answered last. A call that fails before any response because the server could not be
/// used (Unavailable: connection refused, DNS, TLS handshake; DeadlineExceeded; a server
/// that is not a gRPC daemon; see <see cref="CallFailures.IsUnreachable"/>) goes to the next
/// server; any other status is the daemon's answer (<see cref="DaemonCallException"/>). A
/// daemon that answers Unavailable itself (its store or Nova is out of reach) is also worth
/// the next server, but when no other does better that answer is the result. When no
/// server answers at all: <see cref="NoDaemonReachableException"/>.
/// </summary>
internal sealed class DaemonClient(IReadOnlyList<Uri> servers, ChannelFactory channels, TimeSpan timeout) : IDisposable
{
    private int current;

    public IReadOnlyList<Uri> Servers => servers;

    /// <summary>The server that answered last (or will be tried first).</summary>
    public Uri Current => servers[current];

    /// <summary>Makes the next server the first one to try (after a broken stream).</summary>
    public void MoveToNextServer() => current = (current + 1) % servers.Count;

    public Task<T> CallAsync<T>(
        string what,
        Func<Operator.OperatorClient, CallOptions, AsyncUnaryCall<T>> call,
        CancellationToken cancellationToken) =>
        CallAsync(what, (channel, options) => call(new Operator.OperatorClient(channel), options), timeout, cancellationToken);

    /// <summary>
    /// One unary call of any service (the fence agent's Fencing calls), each server given at
    /// most <paramref name="callTimeout"/>.
    /// </summary>
    public async Task<T> CallAsync<T>(
        string what,
        Func<GrpcChannel, CallOptions, AsyncUnaryCall<T>> call,
        TimeSpan callTimeout,
        CancellationToken cancellationToken)
    {
        var failures = new Failures(what);
        for (var i = 0; i < servers.Count; i++)
        {
            var index = (current + i) % servers.Count;
            var server = servers[index];
            try
            {
                var options = new CallOptions(deadline: TimeProvider.System.GetUtcNow().UtcDateTime + callTimeout, cancellationToken: cancellationToken); // gRPC deadlines are real time
                var response = await call(channels.For(server), options).ResponseAsync.ConfigureAwait(false);
                current = index;
                return response;
            }
            catch (RpcException e) when (CallFailures.IsUnreachable(e) && !cancellationToken.IsCancellationRequested)
            {
                failures.Add(index, server, e);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                current = index;
                throw new DaemonCallException(what, server, e.Status);
            }
        }

        throw failures.Final(ref current);
    }

    /// <summary>
    /// Starts a server stream on the first server that sends a response (a message, or the
    /// end of the stream) within the timeout, and returns it with its first step taken.
    /// </summary>
    public async Task<OpenStream<T>> OpenStreamAsync<T>(
        string what,
        Func<Operator.OperatorClient, CallOptions, AsyncServerStreamingCall<T>> start,
        CancellationToken cancellationToken)
    {
        var failures = new Failures(what);
        for (var i = 0; i < servers.Count; i++)
        {
            var index = (current + i) % servers.Count;
            var server = servers[index];
            var client = new Operator.OperatorClient(channels.For(server));
            var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            lifetime.CancelAfter(timeout);
            var call = start(client, new CallOptions(cancellationToken: lifetime.Token));
            try
            {
                var hasFirst = await call.ResponseStream.MoveNext(lifetime.Token).ConfigureAwait(false);
                // The stream itself has no deadline: it lasts until the work is done.
                lifetime.CancelAfter(Timeout.InfiniteTimeSpan);
                current = index;
                return new OpenStream<T>(server, call, hasFirst, lifetime);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && Unreachable(e, lifetime) is { } reason)
            {
                Release(call, lifetime);
                failures.Add(index, server, reason, e as RpcException);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Release(call, lifetime);
                current = index;
                throw new DaemonCallException(what, server, e.Status);
            }
            catch
            {
                Release(call, lifetime);
                throw;
            }
        }

        throw failures.Final(ref current);
    }

    public void Dispose() => channels.Dispose();

    private string? Unreachable(Exception e, CancellationTokenSource lifetime)
    {
        if (lifetime.IsCancellationRequested)
        {
            return $"{StatusCode.DeadlineExceeded}: no response within {timeout.TotalSeconds:0.###}s";
        }

        return e is RpcException rpc && CallFailures.IsUnreachable(rpc) ? CallFailures.Describe(rpc) : null;
    }

    /// <summary>The servers that could not be used for one call, and the last daemon answer among them.</summary>
    private sealed class Failures(string what)
    {
        private readonly List<ServerFailure> all = [];
        private (int Index, Uri Server, Status Status)? answer;

        public void Add(int index, Uri server, RpcException e) => Add(index, server, CallFailures.Describe(e), e);

        public void Add(int index, Uri server, string reason, RpcException? e)
        {
            all.Add(new ServerFailure(server, reason));
            if (e is not null && CallFailures.IsDaemonAnswer(e))
            {
                answer = (index, server, e.Status);
            }
        }

        /// <summary>What to throw once every server was tried; moves <paramref name="current"/> to the daemon that answered.</summary>
        public Exception Final(ref int current)
        {
            if (answer is { } a)
            {
                current = a.Index;
                return new DaemonCallException(what, a.Server, a.Status);
            }

            return new NoDaemonReachableException(what, all);
        }
    }

    private static void Release<T>(AsyncServerStreamingCall<T> call, CancellationTokenSource lifetime)
    {
        call.Dispose();
        lifetime.Dispose();
    }
}
