using Grpc.Core;

namespace Evacuationd.Cli.Connection;

/// <summary>Tells a server that could not be used from a server's answer, and says why.</summary>
internal static class CallFailures
{
    /// <summary>HTTP/2 error code HTTP_1_1_REQUIRED: Kestrel's answer on an HTTP/1.x-only endpoint.</summary>
    private const long Http11Required = 0xd;

    /// <summary>HTTP/2 error code PROTOCOL_ERROR: what the client reports when HTTP/1.x text came back.</summary>
    private const long ProtocolError = 0x1;

    /// <summary>
    /// Grpc.Net.Client's wording when an HTTP response is not a gRPC response (HTTP status other
    /// than 200, content type other than application/grpc, a downgrade to HTTP/1.1): a daemon
    /// answers errors with HTTP 200 and a grpc-status, so this is some other server (or a proxy
    /// with no daemon behind it).
    /// </summary>
    private const string NotGrpcPrefix = "Bad gRPC response.";

    /// <summary>
    /// Whether a failed call means "this server could not be used" rather than an answer:
    /// Unavailable, DeadlineExceeded, a call that failed before any response because the
    /// connection could not be made (DNS, refused, TLS handshake, no HTTP/2; Grpc.Net.Client
    /// reports these as Internal), or a server that is not a gRPC daemon (it speaks HTTP/1.1
    /// only, or answers HTTP/2 without gRPC).
    /// </summary>
    public static bool IsUnreachable(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        || ((e.StatusCode is StatusCode.Internal or StatusCode.Unknown)
            && (ConnectionError(e) is not null || ProtocolErrorCode(e) is not null || ConnectionNeverUsable(e)))
        || IsNotGrpc(e);

    /// <summary>
    /// An Unavailable that a daemon answered itself (its store or Nova could not be used), as
    /// opposed to one the client made up because the connection failed: the call is worth
    /// trying on another daemon, but if none does better it is the operation's failure (exit 1),
    /// not "cannot reach any daemon".
    /// </summary>
    public static bool IsDaemonAnswer(RpcException e) =>
        e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is null && !IsNotGrpc(e);

    /// <summary>
    /// "Unavailable: Connection refused": the status code (or "TLS handshake failed", or "not a
    /// gRPC server") and the innermost cause.
    /// </summary>
    public static string Describe(RpcException e)
    {
        var detail = e.Status.Detail;
        var inner = e.Status.DebugException;
        while (inner?.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        if (inner is not null && !string.IsNullOrWhiteSpace(inner.Message))
        {
            detail = inner.Message;
        }

        if (IsNotGrpc(e))
        {
            return $"not a gRPC server: {detail}";
        }

        return ProtocolErrorCode(e) switch
        {
            Http11Required => $"not a gRPC server: it speaks HTTP/1.1 only (HTTP/2 error HTTP_1_1_REQUIRED): {detail}",
            ProtocolError => $"not a gRPC server: it does not speak HTTP/2: {detail}",
            _ when ConnectionNeverUsable(e) => $"no HTTP/2 connection: {detail}",
            _ => ConnectionError(e) == HttpRequestError.SecureConnectionError
                ? $"TLS handshake failed: {detail}"
                : $"{e.StatusCode}: {detail}",
        };
    }

    private static bool IsNotGrpc(RpcException e) =>
        e.Status.DebugException is null && e.Status.Detail.StartsWith(NotGrpcPrefix, StringComparison.Ordinal);

    private static HttpRequestError? ConnectionError(RpcException rpc)
    {
        for (var e = rpc.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException
                {
                    HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError
                        or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError
                        or HttpRequestError.VersionNegotiationError,
                } http)
            {
                return http.HttpRequestError;
            }
        }

        return null;
    }

    /// <summary>
    /// The HTTP client's own failure, with no error class and no cause, for a request that
    /// waited for a new HTTP/2 connection which shut down before it could carry any request
    /// (the server closed it at once: an HTTP/1.1-only server's GOAWAY that won the race
    /// against the request, or a daemon going away). The request was never sent.
    /// </summary>
    private static bool ConnectionNeverUsable(RpcException rpc) =>
        rpc.Status.DebugException is HttpRequestException { HttpRequestError: HttpRequestError.Unknown, InnerException: null, StatusCode: null };

    /// <summary>
    /// The HTTP/2 error code when the server refused HTTP/2 itself (HTTP_1_1_REQUIRED) or sent
    /// something that is not HTTP/2 at all (PROTOCOL_ERROR; a conforming daemon never sends it
    /// to a conforming client). Other codes (a reset stream) are answers of an HTTP/2 server.
    /// </summary>
    private static long? ProtocolErrorCode(RpcException rpc)
    {
        for (var e = rpc.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException { ErrorCode: Http11Required or ProtocolError } protocol)
            {
                return protocol.ErrorCode;
            }
        }

        return null;
    }
}
