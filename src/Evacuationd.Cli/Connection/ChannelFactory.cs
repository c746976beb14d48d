using Grpc.Net.Client;

namespace Evacuationd.Cli.Connection;

/// <summary>Creates one gRPC channel per server URL, with the TLS settings for https://.</summary>
internal sealed class ChannelFactory(TlsSettings tls, TimeSpan connectTimeout) : IDisposable
{
    private readonly Dictionary<Uri, GrpcChannel> channels = [];

    public GrpcChannel For(Uri server)
    {
        if (!channels.TryGetValue(server, out var channel))
        {
            var handler = new SocketsHttpHandler
            {
                ConnectTimeout = connectTimeout,
                EnableMultipleHttp2Connections = true,
            };
            if (server.Scheme == Uri.UriSchemeHttps)
            {
                handler.SslOptions = tls.ClientOptions();
            }

            channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
            });
            channels[server] = channel;
        }

        return channel;
    }

    public void Dispose()
    {
        foreach (var channel in channels.Values)
        {
            channel.Dispose();
        }

        channels.Clear();
        tls.Dispose();
    }
}
