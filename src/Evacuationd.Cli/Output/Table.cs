namespace Evacuationd.Cli.Output;

/// <summary>One table cell: its text and an optional colour (used only when colours are on).</summary>
internal readonly record struct Cell(string Text, Colour Colour = Colour.None)
{
    public static implicit operator Cell(string text) => new(text);
}

/// <summary>
/// Plain aligned columns: an optional header line, two spaces between columns, no
/// trailing spaces. Widths are computed on the text, so colours do not break alignment.
/// </summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<Cell[]> rows = [];

    public int Count => rows.Count;

    public void Add(params Cell[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"expected {headers.Length} cells, got {cells.Length}", nameof(cells));
        }

        rows.Add(cells);
    }

    public void Write(TextWriter writer, Style style, bool withHeader = true)
    {
        var all = withHeader ? rows.Prepend(headers.Select(h => new Cell(h)).ToArray()) : rows;
        var widths = new int[headers.Length];
        foreach (var row in all)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Text.Length);
            }
        }

        foreach (var row in all)
        {
            var line = new System.Text.StringBuilder();
            var last = LastNonEmpty(row);
            for (var i = 0; i <= last; i++)
            {
                if (i > 0)
                {
                    line.Append("  ");
                }

                line.Append(style.Paint(row[i].Text, row[i].Colour));
                if (i < last)
                {
                    line.Append(' ', widths[i] - row[i].Text.Length);
                }
            }

            writer.WriteLine(line.ToString());
        }
    }

    private static int LastNonEmpty(Cell[] row)
    {
        var last = row.Length - 1;
        while (last > 0 && row[last].Text.Length == 0)
        {
            last--;
        }

        return last;
    }
}
