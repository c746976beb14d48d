using Evacuationd.Core.Engine;
using Evacuationd.Nova;
using Evacuationd.Server.Configuration;

namespace Evacuationd.Server.Commands;

/// <summary>
/// <c>evacuationd [serve]</c>: the production daemon. This build validates its configuration
/// and then stops with a clear message: the etcd store it needs is not part of this build.
/// </summary>
internal static class ServeCommand
{
    public static Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var configuration = ConfigurationLoader.Load(args);
        var errors = new List<string>();
        var endpoints = (configuration["Etcd:Endpoints"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
        {
            errors.Add("Etcd:Endpoints is required (comma-separated etcd client URLs, e.g. http://10.0.0.5:2379).");
        }
        foreach (var e in endpoints)
        {
            if (!Uri.TryCreate(e, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
            {
                errors.Add($"Etcd:Endpoints: '{e}' is not an http or https URL.");
            }
        }
        if (configuration["Nova:Cloud"] is { Length: > 0 } cloud)
        {
            errors.Add($"Nova:Cloud ('{cloud}'): clouds.yaml lookup is not supported by this build yet; give Nova:AuthUrl, Nova:Username, Nova:Password and Nova:ProjectName.");
        }
        else
        {
            errors.AddRange(ConfigurationLoader.Bind<NovaClientOptions>(configuration, "Nova").Validate());
        }
        if (configuration["Grpc:Listen"] is not { Length: > 0 } listen)
        {
            errors.Add("Grpc:Listen is required (e.g. http://127.0.0.1:50077).");
        }
        else
        {
            try
            {
                Grpc.GrpcHost.ParseListen(listen);
            }
            catch (ConfigurationException ex)
            {
                errors.AddRange(ex.Errors);
            }
        }
        errors.AddRange(ConfigurationLoader.Bind<EngineOptions>(configuration, "Engine").Validate());
        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }
        Console.Error.WriteLine("evacuationd: the configuration is valid, but this build cannot serve yet: the etcd store it needs is not part of it. " +
                                "Run `evacuationd dev` (embedded store and simulated cloud) or `evacuationd demo`.");
        return Task.FromResult(1);
    }
}
