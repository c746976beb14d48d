using System.Globalization;

namespace Evacuationd.Cli.FenceAgent;

/// <summary>
/// Where the agent says what it did: stderr (the fencer logs it), and the optional
/// debug_file. Writing the file may fail (metadata also runs as user hacluster, a directory
/// may be read-only): that never fails the agent, the message still goes to stderr.
/// </summary>
internal sealed class AgentLog(TextWriter stderr, TimeProvider clock)
{
    public bool Verbose { get; set; }

    public string? DebugFile { get; set; }

    /// <summary>A message for the fencer's log.</summary>
    public void Say(string message)
    {
        stderr.WriteLine($"{AgentParameters.AgentName}: {Shown.Line(message)}");
        Append(message);
    }

    /// <summary>Only with verbose on stderr; always in the debug file.</summary>
    public void Detail(string message)
    {
        if (Verbose)
        {
            stderr.WriteLine($"{AgentParameters.AgentName}: {Shown.Line(message)}");
        }
        Append(message);
    }

    private void Append(string message)
    {
        if (DebugFile is null)
        {
            return;
        }
        try
        {
            File.AppendAllText(DebugFile,
                $"{clock.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} {AgentParameters.AgentName}[{Environment.ProcessId}]: {message}{Environment.NewLine}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            // Never fail (or stop logging to stderr) because a log file is not writable.
            DebugFile = null;
        }
    }
}
