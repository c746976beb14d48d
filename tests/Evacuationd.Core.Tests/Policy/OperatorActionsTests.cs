using Evacuationd.Core.Api;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Store;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Core.Tests.Policy;

/// <summary>Fence intake with the blast-radius guard, and the operator's hold, resume and confirm, on the in-memory store.</summary>
public sealed class OperatorActionsTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly FakeTimeProvider _time = new(StoreRecords.Epoch);
    private readonly InMemoryEvacuationStore _store;
    private readonly FenceIntake _intake;
    private readonly OperatorActions _actions;

    public OperatorActionsTests()
    {
        _store = new InMemoryEvacuationStore(_time);
        _intake = new FenceIntake(_store, _time, "daemon-a", new PolicyOptions { MaxHostsInWindow = 2, MaxSharePercent = 100 });
        _actions = new OperatorActions(_store, _time, compute: null!);
    }

    public void Dispose() => _store.Dispose();

    private Task<FenceDecision> Fence(string host) => _intake.ReportAsync(new FenceReport(host, FenceSource.FenceAgent, "pcmk"), None);

    [Fact]
    public async Task TheThirdFencingWithinTheWindowIsHeldAndTheWindowIsDurable()
    {
        var one = await Fence("compute-01");
        var two = await Fence("compute-02");
        var three = await Fence("compute-03");

        Assert.Equal(HostState.Planning, one.Host.State);
        Assert.Equal(HostState.Planning, two.Host.State);
        Assert.Equal(HostState.Held, three.Host.State);
        Assert.Contains("blast-radius guard", three.Message, StringComparison.Ordinal);
        Assert.Equal(HostState.Held, (await _store.GetHostAsync("compute-03", None))!.Value.State);
        Assert.Equal(3, (await _store.GetControlAsync(None))!.Value.Recent.Count);

        _time.Advance(TimeSpan.FromMinutes(11)); // the window moved on
        var later = await Fence("compute-04");
        Assert.Equal(HostState.Planning, later.Host.State);
    }

    [Fact]
    public async Task ConfirmLetsOneHeldHostGoOn()
    {
        await Fence("compute-01");
        await Fence("compute-02");
        await Fence("compute-03");

        var confirmed = await _actions.ConfirmAsync("compute-03", "alice", None);
        var again = await Assert.ThrowsAsync<PreconditionException>(() => _actions.ConfirmAsync("compute-03", "alice", None));
        var unknown = await Assert.ThrowsAsync<NotFoundException>(() => _actions.ConfirmAsync("compute-09", "alice", None));

        Assert.Equal(HostState.Planning, confirmed.State);
        Assert.Contains("confirmed by alice", confirmed.Reason, StringComparison.Ordinal);
        Assert.Contains("not held", again.Message, StringComparison.Ordinal);
        Assert.Contains("compute-09", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HoldHoldsEveryNewFencingAndResumeReleasesThemAll()
    {
        var control = await _actions.HoldAsync("rack maintenance", "alice", None);
        var one = await Fence("compute-01");
        var two = await Fence("compute-02");

        var (after, released) = await _actions.ResumeAsync("bob", None);

        Assert.True(control.Held);
        Assert.Equal(HostState.Held, one.Host.State);
        Assert.Contains("rack maintenance", one.Host.Reason, StringComparison.Ordinal);
        Assert.Equal(HostState.Held, two.Host.State);
        Assert.False(after.Held);
        Assert.Equal(["compute-01", "compute-02"], released.Select(h => h.Name).Order());
        Assert.All(await _store.ListHostsAsync(None), h => Assert.Equal(HostState.Planning, h.Value.State));
        Assert.False((await _store.GetControlAsync(None))!.Value.Held);
    }

    [Fact]
    public async Task RetryAndCancelAreStoredAsRequestsOnlyWhenTheyFit()
    {
        var host = await _store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None);
        var lease = await _store.GrantLeaseAsync(StoreRecords.Daemon("planner"), TimeSpan.FromMinutes(5), None);
        var claim = await _store.TryClaimHostAsync(lease, "compute-01", host.Revision, null, None);
        var failed = StoreRecords.Instance("compute-01", "aaaa0001") with { State = RecordState.Failed };
        var running = StoreRecords.Instance("compute-01", "aaaa0002") with { State = RecordState.Rebuilding };
        await _store.CommitPlanAsync(claim.Ownership!, claim.Record!.Value, claim.Record.Revision, [failed, running], None);

        await _actions.RequestAsync(failed.Id, OperatorAction.Retry, "fixed the flavor", "alice", None);
        await _actions.RequestAsync(running.InstanceUuid, OperatorAction.Cancel, "", "alice", None);
        var refused = await Assert.ThrowsAsync<PreconditionException>(() => _actions.RequestAsync(running.Id, OperatorAction.Retry, "", "alice", None));

        var requests = (await _store.ReadSnapshotAsync(None)).Requests.Select(r => r.Value).OrderBy(r => r.RecordId).ToList();
        Assert.Equal([(failed.Id, OperatorAction.Retry), (running.Id, OperatorAction.Cancel)], requests.Select(r => (r.RecordId, r.Action)));
        Assert.Contains("only failed, skipped or cancelled", refused.Message, StringComparison.Ordinal);
        Assert.Equal(RecordState.Failed, (await _store.GetInstanceAsync(failed.Id, None))!.Value.State); // only its owner changes it
    }
}
