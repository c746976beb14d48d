using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>TLS settings for a test daemon: its certificate and how it checks client certificates.</summary>
internal sealed record TestTls(X509Certificate2 ServerCertificate, Func<X509Certificate2, bool> AcceptClient);

/// <summary>An in-process gRPC server (Kestrel on 127.0.0.1, port 0, HTTP/2) hosting one service instance.</summary>
internal sealed class TestDaemon : IAsyncDisposable
{
    private readonly WebApplication app;

    private TestDaemon(WebApplication app, Uri url)
    {
        this.app = app;
        Url = url;
    }

    public Uri Url { get; }

    public string Address => Url.OriginalString.TrimEnd('/');

    public static async Task<TestDaemon> StartAsync<TService>(TService service, TestTls? tls = null)
        where TService : class
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (tls is not null)
            {
                listen.UseHttps(tls.ServerCertificate, https =>
                {
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.ClientCertificateValidation = (certificate, _, _) => tls.AcceptClient(certificate);
                });
            }
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<TService>();
        await app.StartAsync().ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var port = new Uri(address).Port;
        var scheme = tls is null ? "http" : "https";
        return new TestDaemon(app, new Uri($"{scheme}://127.0.0.1:{port}"));
    }

    /// <summary>A loopback URL with nothing listening on it.</summary>
    public static string UnreachableAddress()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}
