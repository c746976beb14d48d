using System.Collections.Concurrent;
using Evacuationd.Contracts.V1;
using Evacuationd.Core.Records;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Evacuationd.Chaos;

/// <summary>A fence the daemons acknowledged (S2: the host record is durable from then on).</summary>
internal sealed record FenceAck(string Host, long Generation, string EvacuationId, FenceOutcome Outcome, string Daemon,
    DateTimeOffset Acknowledged, IReadOnlyList<string> InstancesAtFence, int Attempts);

/// <summary>A fence that was never acknowledged within its time.</summary>
internal sealed record FenceFailure(string Host, string Error, int Attempts);

/// <summary>An operator confirmation of a host held by the blast-radius guard.</summary>
internal sealed record Confirmation(string Host, DateTimeOffset At, string Daemon);

/// <summary>
/// Fences hosts as Pacemaker does: the power goes off first (evacsim), then the report goes to
/// a daemon (role fencer), again and to the next daemon until one acknowledges it. Held
/// hosts are confirmed by an operator a few seconds after they were held.
/// </summary>
internal sealed class Fencer(DaemonApi api, SimCloud sim, StoreRecorder store, TimeProvider time, int seed, Action<string> say)
{
    private static readonly TimeSpan ConfirmAfter = TimeSpan.FromSeconds(4);
    private readonly ConcurrentDictionary<string, FenceAck> _acks = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<FenceFailure> _failures = [];
    private readonly ConcurrentBag<Confirmation> _confirmations = [];
    private readonly ConcurrentDictionary<string, DateTimeOffset> _heldSince = new(StringComparer.Ordinal);
    private int _next;

    public IReadOnlyCollection<FenceAck> Acks => _acks.Values.ToList();

    public IReadOnlyCollection<FenceFailure> Failures => _failures.ToList();

    public IReadOnlyCollection<Confirmation> Confirmations => _confirmations.ToList();

    public Task FenceAsync(IEnumerable<string> hosts, CancellationToken ct) => Task.WhenAll(hosts.Select(h => FenceOneAsync(h, ct)));

    /// <summary>Confirms held hosts until <paramref name="ct"/> is cancelled.</summary>
    public async Task ConfirmHeldLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                await ConfirmDueAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Confirms every host held for at least the confirmation delay (one pass).</summary>
    public async Task ConfirmDueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        foreach (var (key, state) in store.Under(Keys.Hosts))
        {
            var host = Keys.Host(state.Value);
            if (host.State != Core.Records.HostState.Held)
            {
                _heldSince.TryRemove(host.Name, out _);
                continue;
            }
            var since = _heldSince.GetOrAdd(host.Name, now);
            if (now - since < ConfirmAfter)
            {
                continue;
            }
            try
            {
                var (_, daemon) = await api.FailoverAsync(1 + (Interlocked.Increment(ref _next) % api.Daemons),
                    (n, o) => api.Operator(n).ConfirmHostAsync(new HostRequest { Host = host.Name, Reason = "chaos: confirmed by the operator" }, o).ResponseAsync,
                    TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), ct);
                _confirmations.Add(new Confirmation(host.Name, time.GetUtcNow(), $"d{daemon}"));
                _heldSince.TryRemove(host.Name, out _);
                say($"confirmed held host {host.Name} (through d{daemon})");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                _heldSince.TryRemove(host.Name, out _); // no longer held (confirmed through another daemon's retry)
            }
            catch (RpcException e)
            {
                say($"confirming {host.Name} failed for now: {e.StatusCode} {e.Status.Detail}");
            }
        }
    }

    private async Task FenceOneAsync(string host, CancellationToken ct)
    {
        await sim.PowerOffAsync(host);
        // After the power-off nothing can arrive on the host any more (a rebuild towards it stalls).
        var instances = (await sim.InstancesAsync()).Where(i => i.Host == host).Select(i => i.Uuid).ToList();
        var request = new ReportFencedRequest
        {
            Host = host,
            EventId = $"chaos-{seed}-{host}",
            Source = Contracts.V1.FenceSource.FenceAgent,
            Reporter = "chaos",
            Reason = "chaos: power cut",
            FencedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        var attempts = 0;
        try
        {
            var (answer, daemon) = await api.FailoverAsync(1 + (Interlocked.Increment(ref _next) % api.Daemons), (n, o) =>
            {
                attempts++;
                return api.Fencer(n).ReportFencedAsync(request, o).ResponseAsync;
            }, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(3), ct);
            _acks[host] = new FenceAck(host, (long)answer.FenceGeneration, answer.EvacuationId, answer.Outcome, $"d{daemon}", time.GetUtcNow(), instances, attempts);
            say($"fenced {host}: {answer.Outcome} {answer.EvacuationId} by d{daemon} ({instances.Count} instances, {attempts} attempt(s)){(answer.Host?.State == Contracts.V1.HostState.Held ? " HELD" : "")}");
        }
        catch (RpcException e)
        {
            _failures.Add(new FenceFailure(host, $"{e.StatusCode}: {e.Status.Detail}", attempts));
            say($"fence of {host} NOT acknowledged after {attempts} attempt(s): {e.StatusCode} {e.Status.Detail}");
        }
    }
}
