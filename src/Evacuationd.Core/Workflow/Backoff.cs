namespace Evacuationd.Core.Workflow;

/// <summary>
/// Exponential backoff with a deterministic jitter: the jitter comes from a stable hash of
/// the record id and attempt, so retries of many records spread out, yet every decision
/// stays a pure function of its inputs.
/// </summary>
public static class Backoff
{
    /// <summary>Delay before the attempt after <paramref name="failedAttempt"/>.</summary>
    public static TimeSpan After(string recordId, int failedAttempt, TimeSpan baseDelay, TimeSpan max)
    {
        var exponent = Math.Clamp(failedAttempt - 1, 0, 20);
        var raw = Math.Min(baseDelay.TotalMilliseconds * Math.Pow(2, exponent), max.TotalMilliseconds);
        // Jitter factor in [0.8, 1.2).
        var factor = 0.8 + (StableHash(recordId, failedAttempt) % 4000) / 10000.0;
        return TimeSpan.FromMilliseconds(Math.Min(raw * factor, max.TotalMilliseconds));
    }

    /// <summary>FNV-1a over two strings and a separator, without building the joined string.</summary>
    internal static uint StableHash(string a, string b)
    {
        var hash = 2166136261u;
        foreach (var c in a)
        {
            hash = (hash ^ c) * 16777619u;
        }
        hash = (hash ^ '\n') * 16777619u;
        foreach (var c in b)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return hash;
    }

    /// <summary>FNV-1a over the id and attempt: the same on every run and every machine.</summary>
    internal static uint StableHash(string text, int salt)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }
        hash = (hash ^ (uint)salt) * 16777619u;
        return hash;
    }
}
