using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>
/// Where watch events go: live progress bars on a terminal that can redraw, plain lines on
/// a dumb terminal, JSON lines otherwise.
/// </summary>
internal interface IWatchSink
{
    /// <summary>Runs the whole watch (<paramref name="watch"/>) inside whatever display the sink keeps up meanwhile.</summary>
    Task<WatchSummary> RunAsync(Func<Task<WatchSummary>> watch);

    /// <summary>An event as received; <paramref name="isNew"/> is false for a repeat after a reconnect.</summary>
    void Event(RecordEvent e, bool isNew);

    /// <summary>Something the operator should know about the watch itself (a reconnect).</summary>
    Task NoticeAsync(string message);

    /// <summary>The watch is over; the records stand as <paramref name="summary"/> says.</summary>
    void End(WatchSummary summary);
}
