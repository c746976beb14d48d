using Evacuationd.Server.Configuration;

namespace Evacuationd.Server.Commands;

/// <summary>
/// <c>evacuationd check-config [--config FILE] [--Section:Key=value ...]</c>: the configuration
/// <c>serve</c> would start with, validated the same way (every key, the TLS files read, the
/// clouds.yaml entry resolved), then a summary; nothing is contacted (neither etcd nor Nova).
/// Exit 0 valid, 2 invalid (each problem naming its key, as serve reports it).
/// </summary>
internal static class CheckConfigCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        var settings = ServeCommand.Validate(ConfigurationLoader.Load(args));
        using var grpc = settings.Grpc;
        var nova = settings.Nova;
        var novaWhere = !string.IsNullOrEmpty(nova.Cloud)
            ? $"cloud '{nova.Cloud}' ({nova.AuthUrl ?? nova.ComputeEndpoint})"
            : nova.AuthUrl ?? nova.ComputeEndpoint ?? "";
        var tls = grpc.Tls is null
            ? "plaintext on loopback (development only)"
            : $"mutual TLS, client CA {string.Join("; ", grpc.Tls.ClientRoots.Select(c => c.Subject))}";
        output.WriteLine("evacuationd: configuration OK");
        output.WriteLine($"  etcd      {settings.Etcd.Endpoints} (prefix {settings.Etcd.Prefix}{(string.IsNullOrEmpty(settings.Etcd.CaFile) ? "" : ", TLS")})");
        output.WriteLine($"  nova      {novaWhere}");
        output.WriteLine($"  grpc      {settings.Listen}, {tls}");
        output.WriteLine($"  metrics   {(settings.Metrics.Enabled ? settings.Metrics.Listen : "off")}");
        output.WriteLine($"  daemon    {settings.Engine.DaemonId}, lease TTL {settings.Engine.LeaseTtl}");
        output.WriteLine("Nothing was contacted: serve reaches etcd and Nova when it starts.");
        return 0;
    }
}
