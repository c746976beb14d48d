using Evacuationd.Agent.Ports;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Agent.Work;

/// <summary>Logs what went wrong with a daemon call: each unreachable daemon and why, or the daemon's refusal.</summary>
internal static class DaemonProblems
{
    /// <summary>Logs the failure of <paramref name="result"/>; returns false when there was none.</summary>
    public static bool LogFailure<T>(this ILogger logger, string call, DaemonResult<T> result)
        where T : class
    {
        if (result.Unreachable is { } failures)
        {
            foreach (var failure in failures)
            {
                logger.DaemonUnreachable(call, failure.Server.OriginalString, failure.Reason);
            }

            return true;
        }

        if (result.Refusal is { } refusal)
        {
            logger.DaemonRefused(call, refusal.Server.OriginalString, refusal.Code.ToString(), refusal.Message);
            return true;
        }

        return false;
    }
}
