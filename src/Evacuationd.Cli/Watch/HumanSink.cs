using System.Text;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>
/// A line per change of a record (time, id, instance, state, attempt, destination,
/// reason), a progress bar line per change of a host, and a final summary line.
/// </summary>
internal sealed class HumanSink(OutputContext output) : IWatchSink
{
    private const int BarWidth = 20;

    public void Event(RecordEvent e, bool isNew)
    {
        if (!isNew)
        {
            return;
        }

        switch (e.Kind)
        {
            case RecordEvent.Types.Kind.Snapshot or RecordEvent.Types.Kind.Updated when e.Record is { } record:
                Write(RecordLine(record));
                break;
            case RecordEvent.Types.Kind.Removed when e.Record is { } record:
                Write($"{Time(record.UpdatedAt)}  {record.Id}  {Text.OrDash(record.InstanceName)}  removed");
                break;
            case RecordEvent.Types.Kind.Host when e.Host is { } host:
                Write(HostLine(host));
                break;
        }
    }

    public void End(WatchSummary summary)
    {
        var colour = summary.Failed > 0 ? Colour.Red : Colour.Green;
        Write(output.Style.Paint(summary.ToString(), colour));
    }

    private string RecordLine(Record r)
    {
        var state = RecordOutput.StateName(r);
        var line = new StringBuilder()
            .Append(Time(r.UpdatedAt)).Append("  ")
            .Append(r.Id).Append("  ")
            .Append(Text.OrDash(r.InstanceName)).Append("  ")
            .Append(output.Style.Paint(state, Style.ForState(state)))
            .Append(' ', Math.Max(1, 11 - state.Length))
            .Append("attempt ").Append(RecordOutput.Attempt(r));
        if (r.DestinationHost.Length > 0)
        {
            line.Append("  -> ").Append(r.DestinationHost);
        }

        if (r.Reason.Length > 0)
        {
            line.Append("  ").Append(r.Reason.ReplaceLineEndings(" "));
        }

        return line.ToString();
    }

    private string HostLine(Host h)
    {
        var c = h.Counts ?? new RecordCounts();
        var finished = c.Done + c.Failed + c.Skipped + c.Cancelled;
        var filled = c.Total == 0 ? 0 : (int)(BarWidth * finished / c.Total);
        var state = HostOutput.StateName(h);
        var at = h.History.Count > 0 ? h.History[^1].At : null;
        return $"{Time(at)}  host {h.Name} gen {h.FenceGeneration} {output.Style.Paint(state, Style.ForState(state))}  "
            + $"[{new string('#', filled)}{new string('-', BarWidth - filled)}] {finished}/{c.Total}  "
            + $"done {c.Done}, failed {c.Failed}, skipped {c.Skipped}, cancelled {c.Cancelled}, in flight {c.InFlight}";
    }

    private string Time(Google.Protobuf.WellKnownTypes.Timestamp? at) =>
        Text.Clock(at?.ToDateTimeOffset() ?? output.Clock.GetUtcNow(), output.Clock.LocalTimeZone);

    private void Write(string line)
    {
        output.Writer.WriteLine(line);
        output.Writer.Flush();
    }
}
