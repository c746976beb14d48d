using Etcdserverpb;
using Evacuationd.Core.Store;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Evacuationd.Etcd;

/// <summary>
/// etcd user/password auth (<see cref="EtcdOptions.Username"/>, <see cref="EtcdOptions.Password"/>):
/// one token from <c>Auth.Authenticate</c>, fetched on first use and shared by every call, sent
/// as gRPC metadata <c>token</c> on every call but Authenticate itself. Streams (watch, lease
/// keepalive) carry the token current when they open.
/// <para>
/// When etcd refuses the token (expired simple token, JWT past its TTL, auth store changed,
/// auth enabled after the token-less start), the token is dropped and the next call
/// authenticates again. The refused call is sent again only when it is a read (a Range, or a
/// transaction of Ranges only); any other call fails with <see cref="StatusCode.Unavailable"/>:
/// etcd refused it before applying it, and the store treats Unavailable as an unknown outcome
/// that it resolves by re-reading. A watch that etcd cancels for lack of permission drops the
/// token too, so the store's reopen authenticates again.
/// </para>
/// <para>
/// Wrong credentials fail with <see cref="StoreUnavailableException"/> naming the keys (never
/// the password). An etcd without auth enabled answers Authenticate with "authentication is not
/// enabled": calls then go without a token until etcd asks for one.
/// </para>
/// </summary>
internal sealed class EtcdAuthInterceptor : Interceptor, IDisposable
{
    /// <summary>The metadata key etcd reads the token from.</summary>
    public const string TokenKey = "token";

    private readonly string _username;
    private readonly string _password;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly string _section;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Auth.AuthClient? _auth;
    private Session? _session;
    private int _authentications;

    public EtcdAuthInterceptor(string username, string password, TimeSpan timeout, TimeProvider time, string section = "Etcd")
    {
        _username = username;
        _password = password;
        _timeout = timeout;
        _time = time;
        _section = section;
    }

    /// <summary>Authenticate calls that etcd answered with a token (or "not enabled") so far.</summary>
    public int Authentications => Volatile.Read(ref _authentications);

    /// <summary>The Auth client of the same channel (its Authenticate calls pass through here untouched).</summary>
    public void Attach(Auth.AuthClient auth) => _auth = auth;

    public void Dispose() => _gate.Dispose();

    /// <summary>A refusal that a new token may cure: the token expired or is unknown, the auth store moved on, or none was sent.</summary>
    internal static bool IsTokenRefused(RpcException ex) =>
        ex.StatusCode == StatusCode.Unauthenticated
        || (ex.StatusCode == StatusCode.InvalidArgument
            && (ex.Status.Detail.Contains("invalid auth token", StringComparison.OrdinalIgnoreCase)
                || ex.Status.Detail.Contains("user name is empty", StringComparison.OrdinalIgnoreCase)
                || ex.Status.Detail.Contains("revision of auth store is old", StringComparison.OrdinalIgnoreCase)));

    /// <summary>A call that changes nothing, so sending it twice is harmless.</summary>
    internal static bool IsRead(object? request) => request switch
    {
        RangeRequest => true,
        TxnRequest txn => txn.Compare.Count == 0
            && txn.Success.All(op => op.RequestCase == RequestOp.RequestOneofCase.RequestRange)
            && txn.Failure.All(op => op.RequestCase == RequestOp.RequestOneofCase.RequestRange),
        _ => false,
    };

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (IsAuthenticate(context.Method))
        {
            return continuation(request, context);
        }
        var deferred = new Deferred();
        var response = UnaryAsync(request, context, continuation, deferred);
        return new AsyncUnaryCall<TResponse>(response, deferred.HeadersAsync(), deferred.GetStatus, deferred.GetTrailers, deferred.Dispose);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (IsAuthenticate(context.Method))
        {
            return continuation(request, context);
        }
        for (var attempt = 1; ; attempt++)
        {
            var session = SessionAsync(context.Options, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            try
            {
                return continuation(request, WithToken(context, session));
            }
            catch (RpcException ex) when (IsTokenRefused(ex))
            {
                Invalidate(session);
                if (attempt > 1 || !IsRead(request))
                {
                    throw Refused(ex);
                }
            }
        }
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var deferred = new Deferred();
        var opened = OpenAsync(context, deferred, c =>
        {
            var call = continuation(c);
            deferred.Started(() => call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
            return call;
        });
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(
            new DeferredWriter<AsyncDuplexStreamingCall<TRequest, TResponse>, TRequest>(opened, c => c.RequestStream),
            new DeferredReader<AsyncDuplexStreamingCall<TRequest, TResponse>, TResponse>(opened, c => c.ResponseStream, Observe),
            deferred.HeadersAsync(), deferred.GetStatus, deferred.GetTrailers, deferred.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var deferred = new Deferred();
        var opened = OpenAsync(context, deferred, c =>
        {
            var call = continuation(request, c);
            deferred.Started(() => call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
            return call;
        });
        return new AsyncServerStreamingCall<TResponse>(
            new DeferredReader<AsyncServerStreamingCall<TResponse>, TResponse>(opened, c => c.ResponseStream, Observe),
            deferred.HeadersAsync(), deferred.GetStatus, deferred.GetTrailers, deferred.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var deferred = new Deferred();
        var opened = OpenAsync(context, deferred, c =>
        {
            var call = continuation(c);
            deferred.Started(() => call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
            return call;
        });
        return new AsyncClientStreamingCall<TRequest, TResponse>(
            new DeferredWriter<AsyncClientStreamingCall<TRequest, TResponse>, TRequest>(opened, c => c.RequestStream),
            ResponseOfAsync(opened),
            deferred.HeadersAsync(), deferred.GetStatus, deferred.GetTrailers, deferred.Dispose);

        static async Task<TResponse> ResponseOfAsync(Task<Opened<AsyncClientStreamingCall<TRequest, TResponse>>> opened) =>
            await (await opened.ConfigureAwait(false)).Call.ResponseAsync.ConfigureAwait(false);
    }

    private static bool IsAuthenticate<TRequest, TResponse>(Method<TRequest, TResponse> method) =>
        method.ServiceName == "etcdserverpb.Auth" && method.Name == "Authenticate";

    private async Task<TResponse> UnaryAsync<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation, Deferred deferred)
        where TRequest : class
        where TResponse : class
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var session = await SessionAsync(context.Options, deferred.Disposed).ConfigureAwait(false);
                var call = continuation(request, WithToken(context, session));
                deferred.Started(() => call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
                try
                {
                    return await call.ResponseAsync.ConfigureAwait(false);
                }
                catch (RpcException ex) when (IsTokenRefused(ex))
                {
                    Invalidate(session);
                    if (attempt > 1 || !IsRead(request))
                    {
                        throw Refused(ex);
                    }
                    // A read: harmless to send again, with a new token.
                }
            }
        }
        catch (Exception ex)
        {
            deferred.Failed(ex);
            throw;
        }
    }

    /// <summary>Authenticates if needed, then opens the stream with the token; failures reach the stream's first read or write.</summary>
    private Task<Opened<TCall>> OpenAsync<TRequest, TResponse, TCall>(ClientInterceptorContext<TRequest, TResponse> context, Deferred deferred, Func<ClientInterceptorContext<TRequest, TResponse>, TCall> open)
        where TRequest : class
        where TResponse : class
    {
        var opened = OpenCoreAsync(context, deferred, open);
        // Its failure reaches whoever reads or writes the stream; nobody may: mark it observed.
        _ = opened.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return opened;
    }

    private async Task<Opened<TCall>> OpenCoreAsync<TRequest, TResponse, TCall>(ClientInterceptorContext<TRequest, TResponse> context, Deferred deferred, Func<ClientInterceptorContext<TRequest, TResponse>, TCall> open)
        where TRequest : class
        where TResponse : class
    {
        try
        {
            var session = await SessionAsync(context.Options, deferred.Disposed).ConfigureAwait(false);
            return new Opened<TCall>(session, open(WithToken(context, session)));
        }
        catch (Exception ex)
        {
            deferred.Failed(ex);
            throw;
        }
    }

    /// <summary>A watch that etcd cancels for permissions (its token expired before the watch was created): drop the token.</summary>
    private void Observe<TResponse>(TResponse response, Session session)
    {
        if (response is WatchResponse { Canceled: true } w
            && (w.CancelReason.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
                || w.CancelReason.Contains("auth token", StringComparison.OrdinalIgnoreCase)
                || w.CancelReason.Contains("user name is empty", StringComparison.OrdinalIgnoreCase)))
        {
            Invalidate(session);
        }
    }

    private RpcException Refused(RpcException ex) => new(new Status(
        StatusCode.Unavailable,
        $"etcd refused the auth token of {_section}:Username ({ex.Status.Detail}); the call was not applied, the next one authenticates again",
        ex));

    /// <summary>The current token, authenticating first when there is none (one Authenticate at a time).</summary>
    private async ValueTask<Session> SessionAsync(CallOptions call, CancellationToken disposed)
    {
        if (Volatile.Read(ref _session) is { } current)
        {
            return current;
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(call.CancellationToken, disposed);
        try
        {
            await _gate.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client."));
        }
        try
        {
            if (Volatile.Read(ref _session) is { } again)
            {
                return again;
            }
            var fresh = await AuthenticateAsync(call.Deadline, linked.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _authentications);
            Volatile.Write(ref _session, fresh);
            return fresh;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<Session> AuthenticateAsync(DateTime? callDeadline, CancellationToken ct)
    {
        var auth = _auth ?? throw new InvalidOperationException("the etcd auth interceptor is not attached to its channel");
        var deadline = _time.GetUtcNow().UtcDateTime + _timeout;
        if (callDeadline is { } d && d < deadline)
        {
            deadline = d;
        }
        try
        {
            var answer = await auth.AuthenticateAsync(new AuthenticateRequest { Name = _username, Password = _password }, deadline: deadline, cancellationToken: ct).ConfigureAwait(false);
            return new Session(answer.Token);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition && ex.Status.Detail.Contains("not enabled", StringComparison.OrdinalIgnoreCase))
        {
            return new Session(null); // etcd runs without auth: send no token until it asks for one
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument && ex.Status.Detail.Contains("authentication failed", StringComparison.OrdinalIgnoreCase))
        {
            throw new StoreUnavailableException(
                $"etcd refused the credentials of {_section}:Username and {_section}:Password (authentication failed: unknown user or wrong password).", ex);
        }
        catch (RpcException ex) when (EtcdConnection.IsUncertain(ex) || ex.StatusCode == StatusCode.Cancelled)
        {
            // Nothing was sent yet: the caller sees a failure it already handles (unavailable, deadline, cancelled).
            throw new RpcException(new Status(ex.StatusCode, $"etcd authentication ({_section}:Username) did not complete: {ex.Status.Detail}", ex));
        }
        catch (RpcException ex)
        {
            throw new StoreUnavailableException($"etcd authentication with {_section}:Username failed: {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
    }

    private void Invalidate(Session used) => Interlocked.CompareExchange(ref _session, null, used);

    private static ClientInterceptorContext<TRequest, TResponse> WithToken<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, Session session)
        where TRequest : class
        where TResponse : class
    {
        if (session.Token is null)
        {
            return context;
        }
        var headers = new Metadata();
        if (context.Options.Headers is { } given)
        {
            foreach (var entry in given.Where(e => e.Key != TokenKey))
            {
                headers.Add(entry);
            }
        }
        headers.Add(TokenKey, session.Token);
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }

    /// <summary>A call opened with the token of <paramref name="Session"/>.</summary>
    private sealed record Opened<TCall>(Session Session, TCall Call);

    /// <summary>One token from Authenticate; null when etcd has auth disabled.</summary>
    private sealed record Session(string? Token)
    {
        public override string ToString() => Token is null ? "no token" : "token";
    }

    /// <summary>
    /// The call behind a wrapper that exists before it does (the token comes first): its headers,
    /// status, trailers and disposal once started, the failure that kept it from starting otherwise.
    /// </summary>
    private sealed class Deferred : IDisposable
    {
        private readonly object _gate = new();
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _disposed = new();
        private Func<Task<Metadata>>? _headers;
        private Func<Status>? _status;
        private Func<Metadata>? _trailers;
        private Action? _dispose;
        private Exception? _failure;
        private bool _isDisposed;

        public Deferred() => Disposed = _disposed.Token;

        /// <summary>Cancelled when the wrapper is disposed (stops a pending authentication).</summary>
        public CancellationToken Disposed { get; }

        public void Started(Func<Task<Metadata>> headers, Func<Status> status, Func<Metadata> trailers, Action dispose)
        {
            Action? previous;
            bool disposeNow;
            lock (_gate)
            {
                previous = _dispose;
                (_headers, _status, _trailers, _dispose) = (headers, status, trailers, dispose);
                disposeNow = _isDisposed;
            }
            previous?.Invoke(); // a read sent again: the first attempt is finished
            if (disposeNow)
            {
                dispose();
            }
            _started.TrySetResult();
        }

        public void Failed(Exception ex)
        {
            lock (_gate)
            {
                _failure ??= ex;
            }
            _started.TrySetException(ex);
            _ = _started.Task.Exception; // observed here: nobody may ask for the headers
        }

        /// <summary>The response headers; a failure before the call started is marked observed (nobody may ask).</summary>
        public Task<Metadata> HeadersAsync()
        {
            var headers = HeadersCoreAsync();
            _ = headers.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return headers;
        }

        private async Task<Metadata> HeadersCoreAsync()
        {
            await _started.Task.ConfigureAwait(false);
            Func<Task<Metadata>> headers;
            lock (_gate)
            {
                headers = _headers!;
            }
            return await headers().ConfigureAwait(false);
        }

        public Status GetStatus()
        {
            lock (_gate)
            {
                return _status is not null ? _status()
                    : _failure is RpcException r ? r.Status
                    : _failure is not null ? new Status(StatusCode.Unavailable, _failure.Message, _failure)
                    : throw new InvalidOperationException("Unable to get the status because the call is not complete.");
            }
        }

        public Metadata GetTrailers()
        {
            lock (_gate)
            {
                return _trailers is not null ? _trailers()
                    : _failure is RpcException r ? r.Trailers
                    : _failure is not null ? []
                    : throw new InvalidOperationException("Can't get the call trailers because the call has not completed successfully.");
            }
        }

        public void Dispose()
        {
            Action? dispose;
            lock (_gate)
            {
                if (_isDisposed)
                {
                    return;
                }
                _isDisposed = true;
                dispose = _dispose;
            }
            _disposed.Cancel();
            dispose?.Invoke();
        }
    }

    /// <summary>The request stream of a call that opens once the token is there.</summary>
    private sealed class DeferredWriter<TCall, T>(Task<Opened<TCall>> opened, Func<TCall, IClientStreamWriter<T>> stream) : IClientStreamWriter<T>
    {
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

        public async Task WriteAsync(T message, CancellationToken cancellationToken)
        {
            var writer = stream((await opened.WaitAsync(cancellationToken).ConfigureAwait(false)).Call);
            if (WriteOptions is { } options)
            {
                writer.WriteOptions = options;
            }
            await writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }

        public async Task CompleteAsync()
        {
            var writer = stream((await opened.ConfigureAwait(false)).Call);
            await writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The response stream of a call that opens once the token is there; each message is shown to <paramref name="observe"/>.</summary>
    private sealed class DeferredReader<TCall, T>(Task<Opened<TCall>> opened, Func<TCall, IAsyncStreamReader<T>> stream, Action<T, Session> observe) : IAsyncStreamReader<T>
    {
        public T Current { get; private set; } = default!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var call = await opened.WaitAsync(cancellationToken).ConfigureAwait(false);
            var reader = stream(call.Call);
            if (!await reader.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
            Current = reader.Current;
            observe(Current, call.Session);
            return true;
        }
    }
}
