using System.Text;
using System.Text.RegularExpressions;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>
/// A captured stdout that a test can wait on: <see cref="WaitForAsync"/> completes as soon as
/// the text written so far (escape sequences removed) contains what is expected. No polling.
/// </summary>
internal sealed class ScreenWriter : TextWriter
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly object gate = new();
    private readonly StringBuilder text = new();
    private readonly List<(string Expected, TaskCompletionSource Done)> waiters = [];

    public override Encoding Encoding => Encoding.Unicode;

    public override void Write(char value) => Append(value.ToString());

    public override void Write(string? value) => Append(value);

    public override void Write(char[] buffer, int index, int count) => Append(new string(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer) => Append(new string(buffer));

    public override string ToString()
    {
        lock (gate)
        {
            return text.ToString();
        }
    }

    /// <summary>Completes once the plain text contains <paramref name="expected"/>; fails after a generous timeout.</summary>
    public Task WaitForAsync(string expected)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (Terminal.Plain(text.ToString()).Contains(expected, StringComparison.Ordinal))
            {
                return Task.CompletedTask;
            }

            waiters.Add((expected, done));
        }

        return done.Task.WaitAsync(Patience);
    }

    private void Append(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        lock (gate)
        {
            text.Append(value);
            if (waiters.Count == 0)
            {
                return;
            }

            var plain = Terminal.Plain(text.ToString());
            foreach (var waiter in waiters.Where(w => plain.Contains(w.Expected, StringComparison.Ordinal)).ToList())
            {
                waiters.Remove(waiter);
                waiter.Done.TrySetResult();
            }
        }
    }
}

/// <summary>What a terminal shows of a live output, roughly: escape sequences removed, each line as last overwritten.</summary>
internal static partial class Terminal
{
    public static string Plain(string output) => Escape().Replace(output, "");

    /// <summary>Lines without escape sequences; a line rewritten after a carriage return shows its last version.</summary>
    public static string[] Lines(string output) =>
        Plain(output)
            .Split('\n')
            .Select(l => l[(l.LastIndexOf('\r') + 1)..].TrimEnd())
            .Where(l => l.Length > 0)
            .ToArray();

    public static bool HasEscapes(string output) => output.Contains('\u001b', StringComparison.Ordinal);

    [GeneratedRegex(@"\u001b\[[0-9;?]*[A-Za-z]")]
    private static partial Regex Escape();
}
