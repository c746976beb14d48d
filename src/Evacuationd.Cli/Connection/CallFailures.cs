using Grpc.Core;

namespace Evacuationd.Cli.Connection;

/// <summary>Tells a server that could not be used from a server's answer, and says why.</summary>
internal static class CallFailures
{
    /// <summary>
    /// Whether a failed call means "this server could not be used" rather than an answer:
    /// Unavailable, DeadlineExceeded, or a call that failed before any response because the
    /// connection could not be made (DNS, refused, TLS handshake, no HTTP/2), which
    /// Grpc.Net.Client reports as Internal for TLS errors.
    /// </summary>
    public static bool IsUnreachable(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        || ((e.StatusCode is StatusCode.Internal or StatusCode.Unknown) && ConnectionError(e) is not null);

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

    /// <summary>"Unavailable: Connection refused": the status code (or "TLS handshake failed") and the innermost cause.</summary>
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

        return ConnectionError(e) == HttpRequestError.SecureConnectionError
            ? $"TLS handshake failed: {detail}"
            : $"{e.StatusCode}: {detail}";
    }
}
