using System.Diagnostics.Metrics;
using Evacuationd.Core.Metrics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Evacuationd.Server.Metrics;

/// <summary>
/// The Prometheus scrape endpoint: its own Kestrel listener (HTTP/1.1, apart from gRPC)
/// answering <c>GET /metrics</c> (or the path <c>Metrics:Listen</c> names) with the text of
/// a <see cref="PrometheusExporter"/>. Start it once per process; dispose it to stop.
/// </summary>
public sealed class MetricsEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private MetricsEndpoint(WebApplication app, PrometheusExporter exporter, Uri address)
    {
        _app = app;
        Exporter = exporter;
        Address = address;
    }

    /// <summary>The scrape URL, port 0 resolved (e.g. <c>http://127.0.0.1:9464/metrics</c>).</summary>
    public Uri Address { get; }

    public PrometheusExporter Exporter { get; }

    /// <summary>Serves the meter of <paramref name="metrics"/> (every evacuationd instrument).</summary>
    public static Task<MetricsEndpoint> StartAsync(string listen, EvacuationMetrics metrics, Action<ILoggingBuilder>? logging = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var meter = metrics.Meter;
        return StartAsync(listen, m => m == meter, logging, ct);
    }

    /// <summary>Serves the meters <paramref name="include"/> accepts.</summary>
    /// <param name="listen">A <c>Metrics:Listen</c> URL (see <see cref="MetricsOptions.Listen"/>); not empty.</param>
    /// <param name="logging">Where the listener's own (Kestrel) logs go; none when null.</param>
    /// <exception cref="Configuration.ConfigurationException">The URL is not valid.</exception>
    public static async Task<MetricsEndpoint> StartAsync(string listen, Func<Meter, bool> include, Action<ILoggingBuilder>? logging = null, CancellationToken ct = default)
    {
        var (endpoint, path) = MetricsOptions.Parse(listen);
        var exporter = new PrometheusExporter(include);
        WebApplication? app = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            logging?.Invoke(builder.Logging);
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Listen(endpoint, o => o.Protocols = HttpProtocols.Http1);
            });
            app = builder.Build();
            RequestDelegate scrape = async context =>
            {
                var text = exporter.Scrape();
                context.Response.ContentType = PrometheusExporter.ContentType;
                context.Response.Headers.CacheControl = "no-store";
                await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
            };
            app.MapGet(path, scrape);
            await app.StartAsync(ct).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                        ?? throw new InvalidOperationException("the metrics endpoint has no address");
            return new MetricsEndpoint(app, exporter, new Uri(new Uri(bound), path));
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }
            exporter.Dispose();
            throw;
        }
    }

    /// <summary>Stops listening (in-flight scrapes finish) and lets the instruments go.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        try
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            Exporter.Dispose();
        }
    }
}
