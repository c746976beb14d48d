using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>Where watch events go: human lines on a terminal, JSON lines otherwise.</summary>
internal interface IWatchSink
{
    /// <summary>An event as received; <paramref name="isNew"/> is false for a repeat after a reconnect.</summary>
    void Event(RecordEvent e, bool isNew);

    /// <summary>The stream ended; the records stand as <paramref name="summary"/> says.</summary>
    void End(WatchSummary summary);
}
