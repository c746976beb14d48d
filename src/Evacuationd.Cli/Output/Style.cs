namespace Evacuationd.Cli.Output;

internal enum Colour
{
    None,
    Green,
    Red,
    Yellow,
    Cyan,
    Grey,
}

/// <summary>ANSI colours when writing to a terminal, plain text otherwise.</summary>
internal sealed class Style(bool enabled)
{
    public bool Enabled { get; } = enabled;

    public string Paint(string text, Colour colour)
    {
        if (!Enabled || colour == Colour.None || text.Length == 0)
        {
            return text;
        }

        var code = colour switch
        {
            Colour.Green => "32",
            Colour.Red => "31",
            Colour.Yellow => "33",
            Colour.Cyan => "36",
            _ => "90",
        };
        return $"\u001b[{code}m{text}\u001b[0m";
    }

    /// <summary>The colour of a record or host state name.</summary>
    public static Colour ForState(string state) => state switch
    {
        "done" or "released" => Colour.Green,
        "failed" => Colour.Red,
        "retrying" or "held" => Colour.Yellow,
        "evacuating" or "rebuilding" or "planning" => Colour.Cyan,
        "skipped" or "cancelled" => Colour.Grey,
        _ => Colour.None,
    };
}
