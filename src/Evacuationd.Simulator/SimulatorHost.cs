using Evacuationd.Simulator.Http;
using Evacuationd.Simulator.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Simulator;

/// <summary>Runs evacsim's HTTP surface in-process on Kestrel.</summary>
public static class SimulatorHost
{
    /// <summary>Builds a populated cloud from <paramref name="options"/> (clock: <paramref name="time"/>, default the
    /// system clock) and serves it on <see cref="SimulatorOptions.Listen"/> (port 0 picks a free port).</summary>
    public static Task<RunningSimulator> StartAsync(SimulatorOptions options, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return StartAsync(SimulatedCloud.CreatePopulated(options, time), options.Listen, cancellationToken);
    }

    /// <summary>Serves an already-built cloud on <paramref name="listen"/> (default: the cloud's options).</summary>
    public static async Task<RunningSimulator> StartAsync(SimulatedCloud cloud, string? listen = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        listen ??= cloud.Options.Listen;
        if (!ListenAddress.TryParse(listen, out var address))
        {
            throw new ArgumentException($"not an http listen URL with host and port: {listen}", nameof(listen));
        }

        // The empty builder reads no configuration (no appsettings.json, no ASPNETCORE_* variables), so
        // embedding evacsim in another application does not pick up that application's Kestrel settings.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(SimulatorHost).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            if (address.Localhost)
            {
                k.ListenLocalhost(address.Port);
            }
            else
            {
                k.Listen(address.Address!, address.Port);
            }
        });
        builder.Services.AddRoutingCore();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(cloud);

        var app = builder.Build();
        app.UseMiddleware<OpenStackMiddleware>();
        app.UseRouting();
        KeystoneEndpoints.Map(app);
        NovaEndpoints.Map(app);
        GlanceEndpoints.Map(app);
        ControlEndpoints.Map(app);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel reported no listening address");
        return new RunningSimulator(app, cloud, new Uri(Reachable(bound).TrimEnd('/') + "/"));
    }

    /// <summary>A wildcard bind address is reported as a loopback URL clients can use.</summary>
    private static string Reachable(string bound) => bound
        .Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal)
        .Replace("://[::]:", "://[::1]:", StringComparison.Ordinal)
        .Replace("://+:", "://127.0.0.1:", StringComparison.Ordinal)
        .Replace("://*:", "://127.0.0.1:", StringComparison.Ordinal);
}

/// <summary>A running evacsim; dispose to stop it.</summary>
public sealed class RunningSimulator : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningSimulator(WebApplication app, SimulatedCloud cloud, Uri baseUrl)
    {
        _app = app;
        Cloud = cloud;
        BaseUrl = baseUrl;
        IdentityUrl = new Uri(baseUrl, "identity/v3");
        ComputeUrl = new Uri(baseUrl, "compute/v2.1");
        ImageUrl = new Uri(baseUrl, "image");
    }

    /// <summary>e.g. http://127.0.0.1:41234/</summary>
    public Uri BaseUrl { get; }

    /// <summary>BaseUrl + identity/v3 (the Keystone auth_url).</summary>
    public Uri IdentityUrl { get; }

    /// <summary>BaseUrl + compute/v2.1.</summary>
    public Uri ComputeUrl { get; }

    /// <summary>BaseUrl + image (Glance).</summary>
    public Uri ImageUrl { get; }

    /// <summary>The model served.</summary>
    public SimulatedCloud Cloud { get; }

    /// <summary>Stops Kestrel.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
