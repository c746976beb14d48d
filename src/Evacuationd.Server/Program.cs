using Evacuationd.Server.Commands;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Embedded;

namespace Evacuationd.Server;

/// <summary><c>evacuationd [serve|check-config|dev|demo] [--config FILE] [--Section:Key=value ...]</c></summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        try
        {
            switch (command)
            {
                case "demo":
                    return await DemoCommand.RunAsync(rest).ConfigureAwait(false);
                case "dev":
                    return await DevCommand.RunAsync(rest).ConfigureAwait(false);
                case "serve":
                    if (rest.Contains("--help") || rest.Contains("-h"))
                    {
                        Usage(Console.Out);
                        return 0;
                    }
                    if (rest.Contains("--version"))
                    {
                        Console.WriteLine($"evacuationd {EmbeddedCloud.ThisVersion}");
                        return 0;
                    }
                    return await ServeCommand.RunAsync(rest).ConfigureAwait(false);
                case "check-config":
                    return CheckConfigCommand.Run(rest, Console.Out);
                case "help":
                    Usage(Console.Out);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync($"evacuationd: unknown command '{command}'").ConfigureAwait(false);
                    Usage(Console.Error);
                    return 2;
            }
        }
        catch (ConfigurationException ex)
        {
            foreach (var e in ex.Errors)
            {
                await Console.Error.WriteLineAsync($"evacuationd: configuration error: {e}").ConfigureAwait(false);
            }
            return 2;
        }
    }

    private static void Usage(TextWriter o) => o.WriteLine("""
        usage: evacuationd [serve] [--config FILE] [--Section:Key=value ...]
               evacuationd check-config [--config FILE] [--Section:Key=value ...]
               evacuationd dev     [--config FILE] [--Dev:Hosts=N --Dev:InstancesPerHost=M --Grpc:Listen=URL ...]
               evacuationd demo    [--verbose]

          serve  the daemon (needs Etcd:Endpoints, Nova credentials, Grpc:Listen)
          check-config  validate serve's configuration as serve would (files read, nothing contacted), exit 0 or 2
          dev    embedded store + simulated cloud + 3 daemons, gRPC on loopback without TLS
          demo   fence a simulated host, kill a daemon mid-flight, check the result, exit

        configuration: appsettings.json, --config FILE, EVACUATIOND__Section__Key, --Section:Key=value
        """);
}
