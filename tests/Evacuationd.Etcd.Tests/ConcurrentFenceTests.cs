using Evacuationd.Core.Api;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Etcd.Tests;

/// <summary>
/// Many hosts fenced at once (a rack): every report shares the blast-radius window key, so
/// each transaction round has one winner. The bench's scenario (reports for all its hosts at
/// once) saw a report give up after 8 rounds ("kept changing ... try again").
/// </summary>
public sealed class ConcurrentFenceTests(EtcdSingleFixture etcd) : IClassFixture<EtcdSingleFixture>, IDisposable
{
    private readonly EtcdEvacuationStore _store = new(new EtcdOptions { Endpoints = etcd.ClientUrls, Prefix = etcd.NewKeyPrefix() }, TimeProvider.System);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ThirtyReportsAtOnceAreAllRecorded()
    {
        var wide = new PolicyOptions { MaxHostsInWindow = 100_000, MaxSharePercent = 100 };
        var hosts = Enumerable.Range(1, 30).Select(i => $"compute-{i:00}").ToList();

        var decisions = await Task.WhenAll(hosts.Select(h => Task.Run(() =>
            new FenceIntake(_store, TimeProvider.System, "daemon-" + h[^1], wide)
                .ReportAsync(new FenceReport(h, FenceSource.FenceAgent, "rack fencer"), CancellationToken.None))));

        Assert.All(decisions, d => Assert.Equal(FenceOutcome.Created, d.Outcome));
        var stored = await _store.ListHostsAsync(CancellationToken.None);
        Assert.Equal(hosts, stored.Select(v => v.Value.Name).Order());
        Assert.All(stored, v => Assert.Equal(HostState.Planning, v.Value.State));
    }
}
