using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Cli.Tests.Support;

/// <summary>
/// Servers that are reachable but are not gRPC daemons: Kestrel speaking HTTP/1.1 only (it
/// answers an HTTP/2 connection with GOAWAY HTTP_1_1_REQUIRED), Kestrel speaking HTTP/2
/// without gRPC (404), and a bare TCP listener that answers every connection with an
/// HTTP/1.1 400 (as a plain web server would) once the client's first request has arrived.
/// </summary>
internal sealed class NotGrpcServer : IAsyncDisposable
{
    private readonly WebApplication? app;
    private readonly TcpListener? listener;
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting = Task.CompletedTask;

    private NotGrpcServer(WebApplication app, int port)
    {
        this.app = app;
        Address = $"http://127.0.0.1:{port}";
    }

    private NotGrpcServer(TcpListener listener)
    {
        this.listener = listener;
        Address = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        accepting = AcceptAsync(listener, stop.Token);
    }

    public string Address { get; }

    /// <summary>Connections the bare TCP listener answered.</summary>
    public int Connections;

    public static Task<NotGrpcServer> Http1KestrelAsync() => KestrelAsync(HttpProtocols.Http1);

    public static Task<NotGrpcServer> Http2WithoutGrpcAsync() => KestrelAsync(HttpProtocols.Http2);

    public static NotGrpcServer Http1Text()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new NotGrpcServer(listener);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        if (app is not null)
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }

        listener?.Stop();
        try
        {
            await accepting.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        stop.Dispose();
    }

    private static async Task<NotGrpcServer> KestrelAsync(HttpProtocols protocols)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = protocols));
        var app = builder.Build();
        app.MapGet("/", () => "a web page");
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new NotGrpcServer(app, new Uri(address).Port);
    }

    /// <summary>
    /// Reads the HTTP/2 connection preface (24 bytes) and the frames after it until a HEADERS
    /// frame (type 1) arrived, or the client closed. Anything else (not HTTP/2) ends at once.
    /// </summary>
    private static async Task ReadUntilHeadersAsync(NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        const int Preface = 24;
        var received = new List<byte>();
        var next = Preface; // offset of the next frame header
        while (true)
        {
            var n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }
            received.AddRange(buffer.AsSpan(0, n));
            if (received[0] != (byte)'P')
            {
                return; // not an HTTP/2 preface: answer whatever it is
            }
            while (received.Count >= next + 9)
            {
                if (received[next + 3] == 1)
                {
                    return;
                }
                next += 9 + ((received[next] << 16) | (received[next + 1] << 8) | received[next + 2]);
            }
        }
    }

    private async Task AcceptAsync(TcpListener tcp, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using var client = await tcp.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref Connections);
            var stream = client.GetStream();
            var buffer = new byte[4096];
            // Answer once the client's first request (an HTTP/2 HEADERS frame) has arrived: a plain
            // web server answers the preface at once, and then the text may reach the client before
            // the request took the connection (it reports "no HTTP/2 connection", which
            // AnHttp11OnlyServerCannotBeUsedAndExits3 covers); this server tests the other case.
            await ReadUntilHeadersAsync(stream, buffer, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

            // Close only after the client has: closing first could reset the connection before the
            // client reads the answer, and the client would then report a reset, not HTTP/1.1 text.
            try
            {
                while (await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (IOException)
            {
                // The client reset the connection: it is done with it either way.
            }
        }
    }
}
