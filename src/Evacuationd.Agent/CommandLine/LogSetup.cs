using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Evacuationd.Agent.CommandLine;

/// <summary>
/// The agent's logs, all on stderr: text lines on a terminal, systemd lines (with journald
/// priorities) when stderr is the journal, JSON lines (message template arguments as fields)
/// otherwise; <c>--log-format</c> chooses explicitly.
/// </summary>
internal static class LogSetup
{
    public static LogFormat Resolve(LogFormat format, AgentEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (format != LogFormat.Auto)
        {
            return format;
        }

        if (environment.StderrIsTerminal)
        {
            return LogFormat.Text;
        }

        // systemd sets JOURNAL_STREAM when stdout/stderr are connected to the journal.
        return environment.GetVariable("JOURNAL_STREAM") is not null ? LogFormat.Systemd : LogFormat.Json;
    }

    public static ILoggerFactory Create(LogFormat format, LogLevel level) => LoggerFactory.Create(logging =>
    {
        logging.SetMinimumLevel(level);
        logging.AddFilter("Grpc", LogLevel.Warning);
        logging.AddFilter("System.Net.Http", LogLevel.Warning);
        switch (format)
        {
            case LogFormat.Json:
                logging.AddJsonConsole(o =>
                {
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    o.IncludeScopes = true;
                });
                break;
            case LogFormat.Systemd:
                logging.AddSystemdConsole(o => o.IncludeScopes = true);
                break;
            default:
                logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss.fff ";
                    o.IncludeScopes = true;
                });
                break;
        }

        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
