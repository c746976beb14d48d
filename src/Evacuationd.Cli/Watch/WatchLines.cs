using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>
/// The human lines of a watch, as cells (text and colour) so that the plain-line sink paints
/// them with ANSI codes and the live sink with Spectre markup.
/// </summary>
internal static class WatchLines
{
    private const int BarWidth = 20;

    /// <summary>"12:00:05  compute-01:1:cccc0003  cache-1  rebuilding attempt 1/3  -> compute-03  Nova accepted evacuate".</summary>
    public static List<Cell> Record(Record r, TimeProvider clock)
    {
        var state = RecordOutput.StateName(r);
        var rest = new System.Text.StringBuilder()
            .Append(' ', Math.Max(1, 11 - state.Length))
            .Append("attempt ").Append(RecordOutput.Attempt(r));
        if (r.DestinationHost.Length > 0)
        {
            rest.Append("  -> ").Append(r.DestinationHost);
        }

        if (r.Reason.Length > 0)
        {
            rest.Append("  ").Append(r.Reason.ReplaceLineEndings(" "));
        }

        return
        [
            new($"{Time(r.UpdatedAt, clock)}  {r.Id}  {Text.OrDash(r.InstanceName)}  "),
            new(state, Style.ForState(state)),
            new(rest.ToString()),
        ];
    }

    public static List<Cell> Removed(Record r, TimeProvider clock) =>
        [new($"{Time(r.UpdatedAt, clock)}  {r.Id}  {Text.OrDash(r.InstanceName)}  removed")];

    /// <summary>"12:01:00  host compute-04 gen 2  held  held by the blast-radius guard: ...".</summary>
    public static List<Cell> HostState(Host h, TimeProvider clock)
    {
        var state = HostOutput.StateName(h);
        var line = new List<Cell>
        {
            new($"{Time(LastChange(h), clock)}  host {h.Name} gen {h.FenceGeneration}  "),
            new(state, Style.ForState(state)),
        };
        if (h.Reason.Length > 0)
        {
            line.Add(new Cell("  " + h.Reason.ReplaceLineEndings(" ")));
        }

        return line;
    }

    /// <summary>
    /// "12:01:00  host compute-01 gen 1 evacuating  [###############-----] 3/4  done 2, ..."
    /// (the plain-line sink's progress line, from the host's own counts).
    /// </summary>
    public static List<Cell> HostProgress(Host h, TimeProvider clock)
    {
        var c = h.Counts ?? new RecordCounts();
        var finished = c.Done + c.Failed + c.Skipped + c.Cancelled;
        var filled = c.Total == 0 ? 0 : (int)(BarWidth * finished / c.Total);
        var state = HostOutput.StateName(h);
        return
        [
            new($"{Time(LastChange(h), clock)}  host {h.Name} gen {h.FenceGeneration} "),
            new(state, Style.ForState(state)),
            new($"  [{new string('#', filled)}{new string('-', BarWidth - filled)}] {finished}/{c.Total}  "
                + $"done {c.Done}, failed {c.Failed}, skipped {c.Skipped}, cancelled {c.Cancelled}, in flight {c.InFlight}"),
        ];
    }

    public static string Paint(IEnumerable<Cell> cells, Style style) =>
        string.Concat(cells.Select(c => style.Paint(c.Text, c.Colour)));

    private static Google.Protobuf.WellKnownTypes.Timestamp? LastChange(Host h) =>
        h.History.Count > 0 ? h.History[^1].At : null;

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp? at, TimeProvider clock) =>
        Text.Clock(at?.ToDateTimeOffset() ?? clock.GetUtcNow(), clock.LocalTimeZone);
}
