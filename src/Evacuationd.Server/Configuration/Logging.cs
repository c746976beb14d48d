using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Evacuationd.Server.Configuration;

/// <summary>
/// Serilog for the daemon: structured, scopes (record, instance, host, daemon) as properties.
/// Text on a terminal; under systemd (stdout is the journal stream that <c>JOURNAL_STREAM</c>
/// names) text lines with a journald priority prefix (<c>&lt;3&gt;</c> error ... <c>&lt;7&gt;</c> debug)
/// and no timestamp of their own, so that <c>journalctl -p warning</c> works; JSON lines otherwise.
/// </summary>
internal static class Logging
{
    public static Serilog.ILogger Create(LogEventLevel minimum, bool toStderr)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(minimum)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Grpc", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        var standardError = toStderr ? LogEventLevel.Verbose : (LogEventLevel?)null;
        if (IsJournal(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), toStderr ? 2 : 1))
        {
            config.Enrich.With<JournalPriority>().WriteTo.Console(
                outputTemplate: "{" + JournalPriority.Property + ":l}{Message:lj} {Properties:j}{NewLine}{Exception}",
                standardErrorFromLevel: standardError);
        }
        else if (Console.IsErrorRedirected && Console.IsOutputRedirected)
        {
            config.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: standardError);
        }
        else
        {
            config.WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj} {Properties:j}{NewLine}{Exception}",
                standardErrorFromLevel: standardError);
        }
        return config.CreateLogger();
    }

    /// <summary>
    /// True when file descriptor <paramref name="fd"/> is the journal stream systemd connected
    /// (<c>JOURNAL_STREAM=device:inode</c>, compared with the socket's inode as sd_journal_stream_fd(3)
    /// advises), not a pipe or file a child inherited the variable with.
    /// </summary>
    internal static bool IsJournal(string? journalStream, int fd)
    {
        if (string.IsNullOrEmpty(journalStream) || journalStream.Split(':') is not [_, var inode])
        {
            return false;
        }
        try
        {
            var target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
            return target == $"socket:[{inode}]";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The sd-daemon(3) priority prefix of an event's level.</summary>
    internal sealed class JournalPriority : ILogEventEnricher
    {
        public const string Property = "JournalPriority";

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            var priority = logEvent.Level switch
            {
                LogEventLevel.Fatal => "<2>",
                LogEventLevel.Error => "<3>",
                LogEventLevel.Warning => "<4>",
                LogEventLevel.Information => "<6>",
                _ => "<7>",
            };
            logEvent.AddPropertyIfAbsent(new LogEventProperty(Property, new ScalarValue(priority)));
        }
    }
}
