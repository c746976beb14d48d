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

/// <summary>A daemon that answers every call with one error status (a denial, a refusal, its store being down...).</summary>
internal sealed class StatusOperator(Status status) : Operator.OperatorBase
{
    public int Calls;

    public override Task<ReportFencedResponse> FenceHost(FenceHostRequest request, ServerCallContext context) => Answer<ReportFencedResponse>();

    public override Task<ListRecordsResponse> ListRecords(ListRecordsRequest request, ServerCallContext context) => Answer<ListRecordsResponse>();

    public override Task<Record> GetRecord(GetRecordRequest request, ServerCallContext context) => Answer<Record>();

    public override Task WatchRecords(WatchRecordsRequest request, IServerStreamWriter<RecordEvent> responseStream, ServerCallContext context) => Answer<object>();

    public override Task<Record> RetryRecord(RecordActionRequest request, ServerCallContext context) => Answer<Record>();

    public override Task<Record> CancelRecord(RecordActionRequest request, ServerCallContext context) => Answer<Record>();

    public override Task<HoldResponse> Hold(HoldRequest request, ServerCallContext context) => Answer<HoldResponse>();

    public override Task<HoldResponse> Resume(ResumeRequest request, ServerCallContext context) => Answer<HoldResponse>();

    public override Task<Host> ConfirmHost(HostRequest request, ServerCallContext context) => Answer<Host>();

    public override Task<Host> ReleaseHost(HostRequest request, ServerCallContext context) => Answer<Host>();

    public override Task<ListHostsResponse> ListHosts(ListHostsRequest request, ServerCallContext context) => Answer<ListHostsResponse>();

    public override Task<Host> GetHost(HostRequest request, ServerCallContext context) => Answer<Host>();

    public override Task<ListDaemonsResponse> ListDaemons(ListDaemonsRequest request, ServerCallContext context) => Answer<ListDaemonsResponse>();

    private Task<T> Answer<T>()
    {
        Interlocked.Increment(ref Calls);
        throw new RpcException(status);
    }
}

/// <summary>A daemon with nothing to show: no fenced host, no record, no daemon registered yet.</summary>
internal sealed class EmptyOperator : Operator.OperatorBase
{
    public override Task<ListHostsResponse> ListHosts(ListHostsRequest request, ServerCallContext context) => Task.FromResult(new ListHostsResponse());

    public override Task<ListRecordsResponse> ListRecords(ListRecordsRequest request, ServerCallContext context) => Task.FromResult(new ListRecordsResponse());

    public override Task<ListDaemonsResponse> ListDaemons(ListDaemonsRequest request, ServerCallContext context) => Task.FromResult(new ListDaemonsResponse());
}
