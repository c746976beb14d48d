using System.Globalization;
using System.Text;
using Grpc.Core;

namespace Evacuationd.Cli;

/// <summary>
/// A value from the command line, stdin or a file as it may appear in a message: cut to a
/// readable length, and with control and format characters (terminal escapes, NUL, bidi
/// overrides) and lone surrogates written as \uXXXX, so that garbage input can neither flood
/// nor forge the log lines that echo it.
/// </summary>
internal static class Shown
{
    /// <summary>The longest value shown in full.</summary>
    public const int MaxValue = 80;

    /// <summary>The longest message line written (with a program prefix, still under 1 KB).</summary>
    public const int MaxLine = 900;

    public static string Value(string? value) => Cut(value ?? "", MaxValue);

    /// <summary>A whole message line (for messages that embed input they did not cut themselves).</summary>
    public static string Line(string line) => Cut(line, MaxLine);

    private static string Cut(string value, int max)
    {
        var sb = new StringBuilder(Math.Min(value.Length, max) + 16);
        var i = 0;
        for (; i < value.Length && sb.Length < max; i++)
        {
            var c = value[i];
            var pair = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]);
            if (pair)
            {
                sb.Append(c).Append(value[++i]);
            }
            else if (char.IsControl(c) || char.IsSurrogate(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                sb.Append(c);
            }
        }
        return i >= value.Length ? sb.ToString() : $"{sb}... ({value.Length} characters)";
    }
}

/// <summary>A command line that parsed but makes no sense (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A daemon answered a call with an error status (exit code 1).</summary>
internal sealed class DaemonCallException(string what, Uri server, Status status)
    : Exception($"{what}: {status.StatusCode}: {status.Detail}")
{
    public string What { get; } = what;
    public Uri Server { get; } = server;
    public Status Status { get; } = status;
}

/// <summary>One server that could not be used, and why.</summary>
internal sealed record ServerFailure(Uri Server, string Reason);

/// <summary>No server answered (exit code 3).</summary>
internal sealed class NoDaemonReachableException(string what, IReadOnlyList<ServerFailure> failures)
    : Exception($"{what}: cannot reach any daemon (tried {string.Join(", ", failures.Select(f => f.Server.OriginalString))})")
{
    public string What { get; } = what;
    public IReadOnlyList<ServerFailure> Failures { get; } = failures;
}
