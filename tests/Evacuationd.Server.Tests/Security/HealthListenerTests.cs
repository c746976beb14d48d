using System.Net;
using System.Net.Sockets;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Security;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Evacuationd.Server.Tests.Security;

/// <summary>Grpc:HealthListen: plaintext grpc.health.v1 for probes without a certificate, and nothing else.</summary>
public sealed class HealthListenerTests
{
    [Theory]
    [InlineData("http://0.0.0.0:50444", true)]
    [InlineData("http://127.0.0.1:50444", true)]
    [InlineData("http://[::]:50444", true)]
    [InlineData("https://0.0.0.0:50444", false)] // no TLS here: probes cannot present a certificate anyway
    [InlineData("http://0.0.0.0", false)]
    [InlineData("http://0.0.0.0:50443", false)] // Grpc:Listen's port
    [InlineData("http://probe.example:50444", false)]
    [InlineData("http://0.0.0.0:50444/health", false)]
    public void TheUrlIsChecked(string listen, bool valid)
    {
        if (valid)
        {
            Assert.Equal(50444, HealthListener.Parse(listen, 50443)!.Port);
        }
        else
        {
            var ex = Assert.Throws<ConfigurationException>(() => HealthListener.Parse(listen, 50443));
            Assert.Contains("Grpc:HealthListen", ex.Errors[0], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EmptyMeansNone() => Assert.Null(HealthListener.Parse("", 50443));

    [Fact]
    public async Task HealthAnswersWithoutACertificateAndNothingElseDoes()
    {
        using var pki = new TestPki();
        var port = FreePort();
        await using var endpoint = await SecureEndpoint.StartAsync(new GrpcOptions
        {
            Listen = "https://127.0.0.1:0",
            CertFile = pki.ServerCertFile,
            KeyFile = pki.ServerKeyFile,
            ClientCaFile = pki.CaFile,
            HealthListen = $"http://127.0.0.1:{port}",
        });
        using var plain = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");

        var health = await new Health.HealthClient(plain).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
        var list = await SecureEndpoint.CallAsync(plain, Contracts.V1.Operator.Descriptor.FindMethodByName("ListDaemons"));
        var report = await SecureEndpoint.CallAsync(plain, Contracts.V1.Fencing.Descriptor.FindMethodByName("ReportFenced"));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.NotEqual(StatusCode.OK, list.StatusCode);
        Assert.NotEqual(StatusCode.OK, report.StatusCode);
        // The TLS listener still wants a client certificate, for health too.
        var noCert = endpoint.Channel(client: null, trust: pki.Ca);
        await Assert.ThrowsAnyAsync<Exception>(() => new Health.HealthClient(noCert).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
