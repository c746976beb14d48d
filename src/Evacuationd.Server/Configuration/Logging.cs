using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Evacuationd.Server.Configuration;

/// <summary>Serilog for the daemon: structured, scopes (record, instance, host, daemon) as properties; JSON when not on a terminal.</summary>
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
        if (Console.IsErrorRedirected && Console.IsOutputRedirected)
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
}
