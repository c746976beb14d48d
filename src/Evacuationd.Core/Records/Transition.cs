using System.Collections.Immutable;

namespace Evacuationd.Core.Records;

/// <summary>One entry of a record's history: who changed what, when and why.</summary>
public sealed record Transition(
    DateTimeOffset At,
    string From,
    string To,
    string Reason,
    string Daemon,
    int Attempt = 0,
    string? RequestId = null);

public static class History
{
    /// <summary>How many transitions a record keeps. The first (creation) is always kept.</summary>
    public const int MaxEntries = 32;

    public static ImmutableList<Transition> Append(ImmutableList<Transition> history, Transition entry)
    {
        var next = history.Add(entry);
        if (next.Count <= MaxEntries)
        {
            return next;
        }
        // Keep the creation entry and the newest ones.
        return next.RemoveAt(1);
    }
}
