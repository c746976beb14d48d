using Microsoft.Extensions.Logging;

namespace Evacuationd.Core.Engine;

/// <summary>The engine's log messages (source-generated, with event ids).</summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Daemon {Daemon} started with lease {LeaseId:x} (TTL {Ttl})")]
    public static partial void Started(ILogger logger, string daemon, long leaseId, TimeSpan ttl);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Daemon {Daemon} stopping: no new claims, steps finish at their next checkpoint")]
    public static partial void Stopping(ILogger logger, string daemon);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Daemon {Daemon} stopped; lease revoked, {Released} record(s) handed over")]
    public static partial void Stopped(ILogger logger, string daemon, int released);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Daemon {Daemon} killed: lease abandoned without revoke, {Running} record(s) left to successors")]
    public static partial void Killed(ILogger logger, string daemon, int running);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Claimed {Key} in state {State}")]
    public static partial void Claimed(ILogger logger, string key, string state);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "{Key}: {From} -> {To}: {Reason}")]
    public static partial void Transition(ILogger logger, string key, string from, string to, string reason);

    [LoggerMessage(EventId = 212, Level = LogLevel.Warning, Message = "{Key}: write refused ({Status}: {Detail})")]
    public static partial void WriteRefused(ILogger logger, string key, string status, string? detail);

    [LoggerMessage(EventId = 213, Level = LogLevel.Information, Message = "{Key}: calling evacuate for attempt {Attempt} (target {Target})")]
    public static partial void Evacuating(ILogger logger, string key, int attempt, string target);

    [LoggerMessage(EventId = 214, Level = LogLevel.Warning, Message = "{Key}: not calling evacuate, the lease is not safely valid; a successor reconciles")]
    public static partial void LeaseTooShortForCall(ILogger logger, string key);

    [LoggerMessage(EventId = 215, Level = LogLevel.Warning, Message = "{Key}: Nova call failed: {Error} (request {RequestId})")]
    public static partial void NovaFailed(ILogger logger, string key, string error, string? requestId);

    [LoggerMessage(EventId = 216, Level = LogLevel.Error, Message = "{Key}: runner failed unexpectedly; released for another try")]
    public static partial void RunnerCrashed(ILogger logger, Exception ex, string key);

    [LoggerMessage(EventId = 217, Level = LogLevel.Information, Message = "Host {Host}: forcing nova-compute service {ServiceId} down")]
    public static partial void ForcingDown(ILogger logger, string host, string serviceId);

    [LoggerMessage(EventId = 218, Level = LogLevel.Information, Message = "Host {Host}: planned {Count} record(s)")]
    public static partial void Planned(ILogger logger, string host, int count);

    [LoggerMessage(EventId = 219, Level = LogLevel.Information, Message = "{Key}: applied the operator's {Action} request ({By})")]
    public static partial void RequestApplied(ILogger logger, string key, string action, string by);

    [LoggerMessage(EventId = 220, Level = LogLevel.Warning, Message = "Daemon {Daemon}: watch failed ({Error}); re-reading the store")]
    public static partial void WatchFailed(ILogger logger, string daemon, string error);

    [LoggerMessage(EventId = 221, Level = LogLevel.Information, Message = "{Key}: in-flight slot {Slot} was taken by another daemon meanwhile; writing the attempt with another slot")]
    public static partial void SlotTaken(ILogger logger, string key, int slot);
}
