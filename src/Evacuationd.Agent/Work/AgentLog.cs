using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.Work;

/// <summary>The agent's log events (source-generated; properties are structured fields).</summary>
internal static partial class AgentLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Agent for {Host} running: daemons {Servers}, hypervisor {Hypervisor}, interval {Interval}, {CheckCount} self-check(s), release {Release}")]
    public static partial void Started(this ILogger logger, string host, string servers, string hypervisor, string interval, int checkCount, string release);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Agent for {Host} stopping")]
    public static partial void Stopping(this ILogger logger, string host);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Cannot reach daemon {Server} for {Call}: {Reason}")]
    public static partial void DaemonUnreachable(this ILogger logger, string call, string server, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "{Call} refused by {Server}: {Code}: {Detail}")]
    public static partial void DaemonRefused(this ILogger logger, string call, string server, string code, string detail);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Checked in as {Host}: {Fencing}, {EvacuatedCount} instance(s) evacuated away, next check-in in {Delay}")]
    public static partial void CheckedIn(this ILogger logger, string host, string fencing, int evacuatedCount, string delay);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Split-brain guard: destroyed local guest {Instance}, evacuated to {Destination} (record {RecordId}, fence generation {FenceGeneration}): {Detail}")]
    public static partial void GuestDestroyed(this ILogger logger, string instance, string destination, string recordId, ulong fenceGeneration, string detail);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Split-brain guard: could not destroy local guest {Instance}, evacuated to {Destination} (record {RecordId}): {Error}")]
    public static partial void DestroyFailed(this ILogger logger, string instance, string destination, string recordId, string error);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Split-brain guard: cannot list the guests running here ({Hypervisor}): {Error}")]
    public static partial void ListFailed(this ILogger logger, string hypervisor, string error);

    [LoggerMessage(EventId = 13, Level = LogLevel.Error, Message = "Split-brain guard: the daemon lists instance '{Instance}' (record {RecordId}) as evacuated, which is not a UUID: it cannot be looked for")]
    public static partial void NotAUuid(this ILogger logger, string instance, string recordId);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "Split-brain guard: evacuated guest(s) still run here after the destroy: {Instances}")]
    public static partial void StillRunning(this ILogger logger, string instances);

    [LoggerMessage(EventId = 15, Level = LogLevel.Debug, Message = "Split-brain guard: {EvacuatedCount} instance(s) evacuated away, none runs here")]
    public static partial void GuardClean(this ILogger logger, int evacuatedCount);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Self-check {Check} failed after {DurationMs} ms: {Output}")]
    public static partial void SelfCheckFailed(this ILogger logger, string check, uint durationMs, string output);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "The daemon disabled nova-compute on {Host} after failed self-checks: {Message}")]
    public static partial void ServiceDisabled(this ILogger logger, string host, string message);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Asking the daemon to release {Host}: {Why}")]
    public static partial void RequestingRelease(this ILogger logger, string host, string why);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "{Host} released: back in service ({HostState})")]
    public static partial void Released(this ILogger logger, string host, string hostState);

    [LoggerMessage(EventId = 32, Level = LogLevel.Information, Message = "Release of {Host} not possible yet, asking again next round: {Detail}")]
    public static partial void ReleaseNotYet(this ILogger logger, string host, string detail);

    [LoggerMessage(EventId = 33, Level = LogLevel.Debug, Message = "No release requested for {Host}: {Why}")]
    public static partial void NoRelease(this ILogger logger, string host, string why);

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Start gate for {Host}: closed, {Reason}; asking again in {Delay}")]
    public static partial void GateClosed(this ILogger logger, string host, string reason, string delay);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "Start gate for {Host}: open, nova-compute may start ({Reason})")]
    public static partial void GateOpen(this ILogger logger, string host, string reason);

    [LoggerMessage(EventId = 42, Level = LogLevel.Error, Message = "Start gate for {Host}: stays closed after {Wait}: {Reason}")]
    public static partial void GateGaveUp(this ILogger logger, string host, string wait, string reason);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information, Message = "Start gate for {Host}: {Reason}; checking again now")]
    public static partial void GateRecheck(this ILogger logger, string host, string reason);

    [LoggerMessage(EventId = 50, Level = LogLevel.Error, Message = "Round failed unexpectedly; trying again in {Delay}")]
    public static partial void RoundFailed(this ILogger logger, Exception exception, string delay);
}
