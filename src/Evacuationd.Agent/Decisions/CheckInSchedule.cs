namespace Evacuationd.Agent.Decisions;

/// <summary>When the run loop checks in next.</summary>
internal static class CheckInSchedule
{
    /// <summary>The daemon's next_check_in_seconds when it gave one (greater than 0), else the configured interval.</summary>
    public static TimeSpan Next(TimeSpan configured, uint nextCheckInSeconds) =>
        nextCheckInSeconds > 0 ? TimeSpan.FromSeconds(nextCheckInSeconds) : configured;
}
