using Google.Protobuf;

namespace Evacuationd.Cli.Output;

/// <summary>
/// Protobuf JSON (lowerCamelCase fields, enums as names, default values included):
/// a single object, an array of objects, or one compact object per line (JSON lines).
/// </summary>
internal static class JsonOutput
{
    private static readonly JsonFormatter Indented =
        new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation("  "));

    private static readonly JsonFormatter Compact =
        new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static void WriteObject(TextWriter writer, IMessage message)
    {
        Indented.Format(message, writer);
        writer.WriteLine();
    }

    public static void WriteArray(TextWriter writer, IEnumerable<IMessage> messages)
    {
        var first = true;
        writer.Write('[');
        foreach (var message in messages)
        {
            writer.WriteLine(first ? string.Empty : ",");
            writer.Write("  ");
            Indented.Format(message, writer, indentationLevel: 1);
            first = false;
        }

        writer.WriteLine(first ? "]" : $"{Environment.NewLine}]");
    }

    public static void WriteLine(TextWriter writer, IMessage message)
    {
        Compact.Format(message, writer);
        writer.WriteLine();
    }
}
