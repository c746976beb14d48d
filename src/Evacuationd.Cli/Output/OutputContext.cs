namespace Evacuationd.Cli.Output;

internal enum OutputFormat
{
    Table,
    Json,
}

/// <summary>Where and how a command prints its result.</summary>
internal sealed class OutputContext(TextWriter writer, OutputFormat format, CliEnvironment environment)
{
    /// <summary>Reasons are cut to this length in tables shown on a terminal.</summary>
    public const int TerminalReasonWidth = 60;

    public TextWriter Writer { get; } = writer;
    public OutputFormat Format { get; } = format;
    public bool Json => Format == OutputFormat.Json;
    public bool Terminal { get; } = environment.StdoutIsTerminal;
    public Style Style { get; } = new(environment.UseColor);
    public TimeProvider Clock { get; } = environment.Clock;

    /// <summary>A reason for a table cell: truncated on a terminal only.</summary>
    public string Reason(string? reason)
    {
        var text = Text.OrDash(reason?.ReplaceLineEndings(" "));
        return Terminal ? Text.Truncate(text, TerminalReasonWidth) : text;
    }

    /// <summary>Writes label/value pairs as two aligned columns ("Label:  value").</summary>
    public void WriteFields(IEnumerable<(string Label, Cell Value)> fields)
    {
        var table = new Table("FIELD", "VALUE");
        foreach (var (label, value) in fields)
        {
            table.Add(label + ":", value.Text.Length == 0 ? new Cell(Text.Missing) : value);
        }

        table.Write(Writer, Style, withHeader: false);
    }
}
