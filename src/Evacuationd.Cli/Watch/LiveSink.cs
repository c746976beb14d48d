using Evacuationd.Contracts.V1;
using Spectre.Console;
using Spectre.Console.Rendering;
using Cell = Evacuationd.Cli.Output.Cell;
using Colour = Evacuationd.Cli.Output.Colour;
using HostOutput = Evacuationd.Cli.Output.HostOutput;
using OutputContext = Evacuationd.Cli.Output.OutputContext;
using OurStyle = Evacuationd.Cli.Output.Style;

namespace Evacuationd.Cli.Watch;

/// <summary>
/// Live progress on a terminal that can redraw, with Spectre.Console: one bar per host
/// fencing (records ended / total, counts by state), and above the bars a line per record
/// change and per host state change. Fencings that were long over when the watch started
/// (released, or an older generation whose records all ended) get neither bar nor lines.
/// The display is redrawn on every event (no timer), so what is shown only depends on what
/// the daemon sent. Colours follow <see cref="CliEnvironment.UseColor"/> (NO_COLOR).
/// </summary>
internal sealed class LiveSink : IWatchSink
{
    private const int BarWidth = 24;

    private readonly IAnsiConsole console;
    private readonly TimeProvider clock;
    private readonly FencingBoard board = new();
    private readonly Dictionary<string, ProgressTask> bars = new(StringComparer.Ordinal);
    private readonly List<(Fencing Fencing, List<Cell> Line)> pending = [];
    private ProgressContext? progress;

    /// <summary>A stream starts with its snapshot (hosts, then records, then SnapshotEnd).</summary>
    private bool inSnapshot = true;

    public LiveSink(OutputContext output, CliEnvironment environment)
    {
        clock = output.Clock;
        console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output.Writer),
            Ansi = AnsiSupport.Yes,
            ColorSystem = environment.UseColor ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            // Whether this is a terminal was decided by the caller; no CI detection on top.
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false },
            EnvironmentVariables = new Dictionary<string, string>(environment.Variables, StringComparer.Ordinal),
        });
        if (environment.TerminalWidth is { } width)
        {
            console.Profile.Width = width;
        }
    }

    public Task<WatchSummary> RunAsync(Func<Task<WatchSummary>> watch)
    {
        var display = new Progress(console, clock)
        {
            AutoRefresh = false,
            AutoClear = false,
            HideCompleted = false,
        }.Columns(
            new TaskDescriptionColumn { Alignment = Justify.Left },
            new ProgressBarColumn { Width = BarWidth },
            new CountsColumn());
        return display.StartAsync(async context =>
        {
            progress = context;
            try
            {
                return await watch().ConfigureAwait(false);
            }
            finally
            {
                progress = null;
            }
        });
    }

    public void Event(RecordEvent e, bool isNew)
    {
        var change = board.Apply(e);
        if (e.Kind == RecordEvent.Types.Kind.Snapshot)
        {
            inSnapshot = true;
        }

        if (isNew && change.Fencing is { } fencing && LineFor(e, change) is { } line)
        {
            if (inSnapshot)
            {
                // Whether a fencing is worth showing is known once its whole snapshot is in.
                pending.Add((fencing, line));
            }
            else if (fencing.Visible)
            {
                Line(line);
            }
        }

        if (e.Kind == RecordEvent.Types.Kind.SnapshotEnd)
        {
            inSnapshot = false;
            foreach (var (f, l) in pending.Where(p => p.Fencing.Visible))
            {
                Line(l);
            }

            pending.Clear();
        }

        Redraw();
    }

    public Task NoticeAsync(string message)
    {
        Line([new Cell(message, Colour.Yellow)]);
        return Task.CompletedTask;
    }

    public void End(WatchSummary summary) =>
        Line([new Cell(summary.ToString(), summary.Failed > 0 ? Colour.Red : Colour.Green)]);

    /// <summary>The line an event is worth above the bars, if any.</summary>
    private List<Cell>? LineFor(RecordEvent e, BoardChange change) => e.Kind switch
    {
        RecordEvent.Types.Kind.Snapshot or RecordEvent.Types.Kind.Updated when e.Record is { } record => WatchLines.Record(record, clock),
        RecordEvent.Types.Kind.Removed when e.Record is { } record => WatchLines.Removed(record, clock),
        RecordEvent.Types.Kind.Host when e.Host is { } host && change.HostStateChanged => WatchLines.HostState(host, clock),
        _ => null,
    };

    /// <summary>Host name, generation and state, in the bar's description.</summary>
    internal static string Description(Fencing f)
    {
        var text = $"{Markup.Escape(f.HostName)} gen {f.Generation}";
        if (f.Host is { } host)
        {
            var state = HostOutput.StateName(host);
            text += " " + Paint(new Cell(state, OurStyle.ForState(state)));
        }

        return text;
    }

    /// <summary>"3/4  done 2, skipped 1": ended / total, then every count that is not zero (done always).</summary>
    internal static List<Cell> CountsText(FencingCounts c)
    {
        var cells = new List<Cell> { new($"{c.Ended}/{c.Total}  done {c.Done}") };
        if (c.Failed > 0)
        {
            cells.Add(new Cell(", "));
            cells.Add(new Cell($"failed {c.Failed}", Colour.Red));
        }

        foreach (var (count, name) in new[] { (c.Skipped, "skipped"), (c.Cancelled, "cancelled"), (c.InFlight, "in flight"), (c.Waiting, "waiting") })
        {
            if (count > 0)
            {
                cells.Add(new Cell($", {name} {count}"));
            }
        }

        return cells;
    }

    private static string Paint(Cell cell)
    {
        var text = Markup.Escape(cell.Text);
        var colour = cell.Colour switch
        {
            Colour.Green => "green",
            Colour.Red => "red",
            Colour.Yellow => "yellow",
            Colour.Cyan => "cyan",
            Colour.Grey => "grey",
            _ => null,
        };
        return colour is null || text.Length == 0 ? text : $"[{colour}]{text}[/]";
    }

    private static string Paint(IEnumerable<Cell> cells) => string.Concat(cells.Select(Paint));

    /// <summary>A line above the bars (or below them once the display ended).</summary>
    private void Line(IEnumerable<Cell> cells) => console.MarkupLine(Paint(cells));

    /// <summary>Adds a bar for every fencing worth one, brings every bar up to date, redraws.</summary>
    private void Redraw()
    {
        if (progress is null)
        {
            return;
        }

        foreach (var fencing in board.Fencings)
        {
            if (!bars.TryGetValue(fencing.Key, out var bar))
            {
                if (!fencing.Visible)
                {
                    continue;
                }

                bar = progress.AddTask(Description(fencing), new ProgressTaskSettings { AutoStart = true, MaxValue = 1 });
                bar.Tag = fencing;
                bars[fencing.Key] = bar;
            }

            var counts = fencing.Counts;
            bar.Description = Description(fencing);
            // No record yet (the host is being planned or held): a bar that waits.
            bar.IsIndeterminate = counts.Total == 0 && fencing.Host is { State: HostState.Planning or HostState.Held or HostState.Evacuating };
            bar.MaxValue = Math.Max(1, counts.Total);
            bar.Value = counts.Total == 0 ? (bar.IsIndeterminate ? 0 : 1) : counts.Ended;
        }

        progress.Refresh();
    }

    /// <summary>The counts of the bar's fencing.</summary>
    private sealed class CountsColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.Tag is Fencing fencing ? new Markup(Paint(CountsText(fencing.Counts))) : Text.Empty;
    }
}
