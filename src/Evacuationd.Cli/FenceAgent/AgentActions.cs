using Evacuationd.Cli.Connection;
using Evacuationd.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Evacuationd.Cli.FenceAgent;

/// <summary>
/// The actions that talk to the daemons. Every call goes to the configured servers in turn
/// (<see cref="DaemonClient"/>), round after round, until one answers or the agent's total
/// time (<see cref="AgentSettings.Timeout"/>) is spent. A definite refusal (bad credentials,
/// a bad host name) ends the run at once: trying again would not change it.
/// </summary>
internal sealed class AgentActions(AgentSettings settings, DaemonClient daemons, TextWriter stdout, AgentLog log, CliEnvironment environment)
{
    /// <summary>Pause between two rounds over the servers.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan MinCallTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxCallTimeout = TimeSpan.FromSeconds(10);

    private readonly TimeProvider clock = environment.Clock;
    private readonly DateTimeOffset deadline = environment.Clock.GetUtcNow() + settings.Timeout;

    private string Host => settings.Host!;

    private string Reporter => $"pacemaker fencer on {environment.HostName}";

    /// <summary>
    /// off (and the first half of reboot): report the fence. Exit 0 only once a daemon answered
    /// that the fencing is durably recorded (created, or already recorded: a duplicate).
    /// </summary>
    public async Task<int> OffAsync(CancellationToken ct)
    {
        var request = new ReportFencedRequest
        {
            Host = Host,
            Source = FenceSource.FenceAgent,
            Reporter = Reporter,
            Reason = $"fenced by Pacemaker (action {settings.Action})",
        };
        var reply = await RetryAsync($"report {Host} fenced",
            (channel, options) => new Fencing.FencingClient(channel).ReportFencedAsync(request, options), ct).ConfigureAwait(false);
        switch (reply.Outcome)
        {
            case FenceOutcome.Created:
                await stdout.WriteLineAsync($"Success: {Host} fenced: evacuation {reply.EvacuationId} recorded by {daemons.Current.OriginalString}").ConfigureAwait(false);
                return ExitCodes.Success;
            case FenceOutcome.Duplicate:
                await stdout.WriteLineAsync($"Success: {Host} fenced: already recorded as evacuation {reply.EvacuationId}").ConfigureAwait(false);
                return ExitCodes.Success;
            default:
                log.Say($"{daemons.Current.OriginalString} did not record the fencing of {Host} ({reply.Outcome}): {reply.Message}");
                return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// on (and the second half of reboot): report the power-on. The host is already fenced and
    /// recorded; when no daemon can be reached this only warns (exit 0), so that a daemon
    /// outage never turns a finished reboot into a failed fencing that Pacemaker would repeat.
    /// </summary>
    public async Task<int> OnAsync(CancellationToken ct)
    {
        var request = new ReportPoweredOnRequest { Host = Host, Reporter = Reporter };
        try
        {
            var reply = await RetryAsync($"report {Host} powered on",
                (channel, options) => new Fencing.FencingClient(channel).ReportPoweredOnAsync(request, options), ct).ConfigureAwait(false);
            await stdout.WriteLineAsync($"Success: {reply.Message}").ConfigureAwait(false);
        }
        catch (AgentGaveUpException e)
        {
            log.Say($"warning: the power-on of {Host} is not recorded ({e.Message}); the fencing itself stands");
        }
        return ExitCodes.Success;
    }

    /// <summary>reboot as a single device: report the fence, then the power-on.</summary>
    public async Task<int> RebootAsync(CancellationToken ct)
    {
        var off = await OffAsync(ct).ConfigureAwait(false);
        return off != ExitCodes.Success ? off : await OnAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// monitor/status: some daemon answers, takes our certificate for a role that may report
    /// fences, and could record one now. status prints "Status: ON" (this device can act; it
    /// says nothing about the host's power, which is the power device's business).
    /// </summary>
    public async Task<int> MonitorAsync(bool status, CancellationToken ct)
    {
        var check = await ReadyDaemonAsync(includeHosts: false, ct).ConfigureAwait(false);
        log.Detail($"{daemons.Current.OriginalString}: daemon {check.DaemonId} is ready; it takes this agent for {check.Caller} (role {check.Role})");
        if (status)
        {
            await stdout.WriteLineAsync("Status: ON").ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }

    /// <summary>list: Nova's compute hosts as Pacemaker names them (domain stripped).</summary>
    public async Task<int> ListAsync(CancellationToken ct)
    {
        var check = await ReadyDaemonAsync(includeHosts: true, ct).ConfigureAwait(false);
        if (!check.HostsKnown)
        {
            log.Say($"{daemons.Current.OriginalString} has not had an answer from Nova yet: no host list");
            return ExitCodes.Failed;
        }
        foreach (var host in check.Hosts)
        {
            await stdout.WriteLineAsync(settings.PacemakerName(host)).ConfigureAwait(false);
        }
        return ExitCodes.Success;
    }

    /// <summary>Fencing.Check until a daemon says it is ready (one that is not counts like one that cannot be reached).</summary>
    private async Task<CheckResponse> ReadyDaemonAsync(bool includeHosts, CancellationToken ct)
    {
        var request = new CheckRequest { IncludeHosts = includeHosts };
        var notReady = 0;
        while (true)
        {
            var check = await RetryAsync("check the daemon",
                (channel, options) => new Fencing.FencingClient(channel).CheckAsync(request, options), ct).ConfigureAwait(false);
            if (check.Ready)
            {
                return check;
            }
            log.Detail($"{daemons.Current.OriginalString}: daemon {check.DaemonId} answered but cannot record a fence now (no engine holds its etcd lease)");
            daemons.MoveToNextServer();
            if (++notReady >= daemons.Servers.Count && !await PauseAsync(ct).ConfigureAwait(false))
            {
                throw new AgentGaveUpException($"every daemon that answered cannot record a fence now (their store is out of reach); last: {daemons.Current.OriginalString}");
            }
        }
    }

    /// <summary>
    /// One call, retried over the servers until one answers or the time is spent. A daemon's
    /// own UNAVAILABLE (its store did not confirm) is retried like silence.
    /// </summary>
    private async Task<T> RetryAsync<T>(string what, Func<GrpcChannel, CallOptions, AsyncUnaryCall<T>> call, CancellationToken ct)
    {
        for (var round = 1; ; round++)
        {
            var remaining = deadline - clock.GetUtcNow();
            var perServer = remaining / daemons.Servers.Count;
            var callTimeout = perServer < MinCallTimeout ? MinCallTimeout : perServer > MaxCallTimeout ? MaxCallTimeout : perServer;
            string failure;
            try
            {
                return await daemons.CallAsync(what, call, callTimeout, ct).ConfigureAwait(false);
            }
            catch (NoDaemonReachableException e)
            {
                failure = string.Join("; ", e.Failures.Select(f => $"{f.Server.OriginalString}: {f.Reason}"));
            }
            catch (DaemonCallException e) when (e.Status.StatusCode == StatusCode.Unavailable)
            {
                failure = $"{e.Server.OriginalString}: {e.Status.Detail}";
            }
            log.Detail($"{what}: round {round}: {failure}");
            if (!await PauseAsync(ct).ConfigureAwait(false))
            {
                throw new AgentGaveUpException($"{what}: no daemon confirmed within {settings.Timeout.TotalSeconds:0.#}s ({round} rounds); last: {failure}");
            }
        }
    }

    /// <summary>Waits before the next round; false when that round would start past the deadline.</summary>
    private async Task<bool> PauseAsync(CancellationToken ct)
    {
        if (clock.GetUtcNow() + RetryDelay >= deadline)
        {
            return false;
        }
        await Task.Delay(RetryDelay, clock, ct).ConfigureAwait(false);
        return true;
    }
}

/// <summary>The agent's time ran out before any daemon answered (exit 1).</summary>
internal sealed class AgentGaveUpException(string message) : Exception(message);
