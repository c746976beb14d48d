using Evacuationd.Contracts.V1;
using Grpc.Core;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>A daemon that implements nothing: every call answers UNIMPLEMENTED.</summary>
internal sealed class BareOperator : Operator.OperatorBase;

/// <summary>A daemon that never answers ListHosts/WatchRecords until the caller gives up.</summary>
internal sealed class HangingOperator : Operator.OperatorBase
{
    public int Calls;

    public override async Task<ListHostsResponse> ListHosts(ListHostsRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        await UntilCancelled(context.CancellationToken);
        throw new RpcException(new Status(StatusCode.Cancelled, "caller gave up"));
    }

    public override async Task WatchRecords(WatchRecordsRequest request, IServerStreamWriter<RecordEvent> responseStream, ServerCallContext context)
    {
        Interlocked.Increment(ref Calls);
        await UntilCancelled(context.CancellationToken);
    }

    private static Task UntilCancelled(CancellationToken token)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => done.TrySetResult());
        return done.Task;
    }
}
