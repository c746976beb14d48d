using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>
/// Plain lines for a terminal that cannot redraw (TERM=dumb): a line per change of a record
/// (time, id, instance, state, attempt, destination, reason), a progress bar line per change
/// of a host, and a final summary line. Notices go to stderr.
/// </summary>
internal sealed class HumanSink(OutputContext output, TextWriter error) : IWatchSink
{
    public Task<WatchSummary> RunAsync(Func<Task<WatchSummary>> watch) => watch();

    public void Event(RecordEvent e, bool isNew)
    {
        if (!isNew)
        {
            return;
        }

        switch (e.Kind)
        {
            case RecordEvent.Types.Kind.Snapshot or RecordEvent.Types.Kind.Updated when e.Record is { } record:
                Write(WatchLines.Record(record, output.Clock));
                break;
            case RecordEvent.Types.Kind.Removed when e.Record is { } record:
                Write(WatchLines.Removed(record, output.Clock));
                break;
            case RecordEvent.Types.Kind.Host when e.Host is { } host:
                Write(WatchLines.HostProgress(host, output.Clock));
                break;
        }
    }

    public Task NoticeAsync(string message) => error.WriteLineAsync(message);

    public void End(WatchSummary summary) =>
        Write([new Cell(summary.ToString(), summary.Failed > 0 ? Colour.Red : Colour.Green)]);

    private void Write(IEnumerable<Cell> cells)
    {
        output.Writer.WriteLine(WatchLines.Paint(cells, output.Style));
        output.Writer.Flush();
    }
}
