using Google.Protobuf;
using global::Grpc.Core;
using global::Grpc.Core.Interceptors;

namespace Evacuationd.Server.Security;

/// <summary>
/// S8, server side: runs before every service method, resolves the caller and checks the call
/// against <see cref="AuthorizationTable"/>. No identity on a TLS listener: UNAUTHENTICATED;
/// the wrong role, an agent acting for another host, or a method missing from the table:
/// PERMISSION_DENIED naming the role needed. Every denial is logged with the caller.
/// </summary>
internal sealed partial class AuthorizationInterceptor(CallerResolver resolver, ILogger<AuthorizationInterceptor> log) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(request, context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(request, context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(null, context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(null, context);
        return continuation(requestStream, responseStream, context);
    }

    /// <summary>Returns when the call may proceed; throws the RpcException to answer otherwise.</summary>
    private void Authorize(object? request, ServerCallContext context)
    {
        var method = context.Method;
        var http = context.GetHttpContext();
        if (http.Items.ContainsKey(HealthListener.ItemKey) && method.StartsWith(HealthListener.HealthPathPrefix, StringComparison.Ordinal))
        {
            return; // the plaintext health-only listener: its middleware let nothing else through
        }
        var caller = resolver.Resolve(http);
        if (caller is null)
        {
            Log.Unauthenticated(log, method, context.Peer ?? "unknown peer");
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"{method}: a client certificate signed by the daemon's client CA (Grpc:ClientCaFile) is required"));
        }
        context.UserState[CallerIdentity.UserStateKey] = caller;
        if (AuthorizationTable.IsOpen(method))
        {
            return;
        }
        var decision = Decide(method, caller, request);
        if (decision is { } denial)
        {
            Log.Denied(log, caller.ToString(), method, denial);
            throw new RpcException(new Status(StatusCode.PermissionDenied, denial));
        }
        if (AuthorizationTable.Rules[method].Audit)
        {
            Log.AllowedAudit(log, method, caller.ToString());
        }
        else
        {
            Log.Allowed(log, method, caller.ToString());
        }
    }

    /// <summary>Null when allowed, else the reason (said to the caller and logged).</summary>
    internal static string? Decide(string method, CallerIdentity caller, object? request)
    {
        if (!AuthorizationTable.Rules.TryGetValue(method, out var rule))
        {
            return $"{method} is not in the authorization table: denied (fail closed)";
        }
        if (caller.Role is not { } role)
        {
            return $"{method} needs role {rule.Allowed.Describe()}; the client certificate {caller.Subject} maps to no role: {caller.NoRoleReason}";
        }
        if (!rule.Allowed.Contains(role))
        {
            return $"{method} needs role {rule.Allowed.Describe()}; the caller {caller.Subject} has role {role.Name()}";
        }
        if (role == CallerRole.Agent)
        {
            if (string.IsNullOrEmpty(caller.Host))
            {
                return $"{method}: the agent certificate {caller.Subject} names no host (see Security:AgentHostFrom), so it may act for none; needs role {rule.Allowed.Describe()}";
            }
            var requested = RequestHost(request);
            if (requested is null)
            {
                return $"{method}: an agent may act only for its own host, and this request's host cannot be read";
            }
            if (!string.Equals(requested, caller.Host, StringComparison.OrdinalIgnoreCase))
            {
                return $"{method}: an agent may act only for its own host: the certificate names host '{caller.Host}', the request names '{requested}' (acting for another host needs role operator)";
            }
        }
        return null;
    }

    /// <summary>The request's <c>host</c> field (every Agent request has one).</summary>
    private static string? RequestHost(object? request) =>
        request is IMessage message && message.Descriptor.FindFieldByName("host") is { FieldType: Google.Protobuf.Reflection.FieldType.String } field
            ? field.Accessor.GetValue(message) as string
            : null;

    private static partial class Log
    {
        [LoggerMessage(EventId = 800, Level = LogLevel.Warning, Message = "Denied {Method} for {Caller}: {Reason}")]
        public static partial void Denied(ILogger logger, string caller, string method, string reason);

        [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "Unauthenticated call to {Method} from {Peer}: no client certificate on a TLS listener")]
        public static partial void Unauthenticated(ILogger logger, string method, string peer);

        [LoggerMessage(EventId = 802, Level = LogLevel.Information, Message = "Allowed {Method} for {Caller}")]
        public static partial void AllowedAudit(ILogger logger, string method, string caller);

        [LoggerMessage(EventId = 803, Level = LogLevel.Debug, Message = "Allowed {Method} for {Caller}")]
        public static partial void Allowed(ILogger logger, string method, string caller);
    }
}
