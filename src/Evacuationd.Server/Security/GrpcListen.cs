using System.Net;
using Evacuationd.Server.Configuration;

namespace Evacuationd.Server.Security;

/// <summary>Grpc:Listen parsed: the endpoint to bind and whether it is mutual TLS (https).</summary>
internal sealed record GrpcListen(string Url, IPEndPoint Endpoint, bool Tls)
{
    /// <summary>
    /// https on any address; http (plaintext) only on a loopback address: without mutual TLS
    /// anyone who can reach the port could report fences (S8).
    /// </summary>
    public static GrpcListen Parse(string? listen, string section = "Grpc")
    {
        var key = $"{section}:Listen";
        if (!Uri.TryCreate(listen, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ConfigurationException([$"{key} must be a URL like https://0.0.0.0:50077 or http://127.0.0.1:50077 (got '{listen}')."]);
        }
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw new ConfigurationException([$"{key} must be scheme, address and port only (got '{listen}')."]);
        }
        IPAddress address;
        if (uri.Host is "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(uri.Host, out address!))
        {
            throw new ConfigurationException([$"{key} must name an IP address (0.0.0.0 or [::] for every interface) or localhost (got '{uri.Host}')."]);
        }
        var tls = uri.Scheme == Uri.UriSchemeHttps;
        if (!tls && !IPAddress.IsLoopback(address))
        {
            throw new ConfigurationException([$"{key}: plaintext gRPC without TLS is allowed only on loopback (got {address}); without mutual TLS anyone on the network could report fences (S8). Use https with Grpc:CertFile, Grpc:KeyFile and Grpc:ClientCaFile."]);
        }
        return new GrpcListen(listen!, new IPEndPoint(address, uri.Port), tls);
    }
}
