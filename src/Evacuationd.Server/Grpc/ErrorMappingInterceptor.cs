using Evacuationd.Core.Api;
using Evacuationd.Core.Compute;
using Evacuationd.Core.Store;
using global::Grpc.Core;
using global::Grpc.Core.Interceptors;

namespace Evacuationd.Server.Grpc;

/// <summary>
/// Turns the core's exceptions into gRPC statuses with a message naming what is wrong, so
/// services stay thin: bad input -> INVALID_ARGUMENT, unknown -> NOT_FOUND, store or Nova
/// unreachable -> UNAVAILABLE. Anything else -> INTERNAL, logged with the call. A status message
/// is kept under <see cref="MaxDetail"/> characters: it travels in an HTTP/2 trailer, and one that
/// echoes a huge request value would break the caller's connection instead of informing it.
/// </summary>
internal sealed partial class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> log) : Interceptor
{
    /// <summary>Longest status message sent.</summary>
    public const int MaxDetail = 1024;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller went away: nothing to report, nothing to log.
            throw new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled by its caller"));
        }
        catch (RpcException ex) when (ex.Status.Detail.Length > MaxDetail)
        {
            throw Short(ex.Status);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Short(Map(ex, context).Status);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller went away.
        }
        catch (RpcException ex) when (ex.Status.Detail.Length > MaxDetail)
        {
            throw Short(ex.Status);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Short(Map(ex, context).Status);
        }
    }

    private static RpcException Short(Status status) => new(status.Detail.Length <= MaxDetail
        ? status
        : new Status(status.StatusCode, $"{status.Detail[..(MaxDetail - 40)]}... ({status.Detail.Length} characters in all)"));

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RequestValidationException v:
                return new RpcException(new Status(StatusCode.InvalidArgument, v.Message));
            case NotFoundException n:
                return new RpcException(new Status(StatusCode.NotFound, n.Message));
            case PreconditionException p:
                return new RpcException(new Status(StatusCode.FailedPrecondition, p.Message));
            case StoreUnavailableException s:
                return new RpcException(new Status(StatusCode.Unavailable, $"the store did not confirm: {s.Message}"));
            case ComputeException c:
                return new RpcException(new Status(c.Transient ? StatusCode.Unavailable : StatusCode.FailedPrecondition, $"Nova: {c.Message}"));
            default:
                Log.Unhandled(log, ex, context.Method);
                return new RpcException(new Status(StatusCode.Internal, $"internal error in {context.Method}: {ex.GetType().Name}: {ex.Message}"));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 500, Level = LogLevel.Error, Message = "Unhandled error in {Method}")]
        public static partial void Unhandled(ILogger logger, Exception ex, string method);
    }
}
