using Grpc.Core;
using Xunit.Abstractions;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Tests.Security;

/// <summary>S8 at the TLS layer: only client certificates of Grpc:ClientCaFile get a connection.</summary>
public sealed class MutualTlsTests(MutualTlsFixture fixture, ITestOutputHelper output) : IClassFixture<MutualTlsFixture>
{
    private async Task<Status> ListHostsAsync(global::Grpc.Net.Client.GrpcChannel channel)
    {
        var status = await SecureEndpoint.CallAsync(channel, V1.Operator.Descriptor.FindMethodByName("ListHosts"));
        output.WriteLine($"ListHosts: {status}");
        return status;
    }

    [Fact]
    public async Task AClientWithACertificateOfTheClientCaGetsThrough()
    {
        using var certificate = fixture.Pki.Client("viewer");

        var status = await ListHostsAsync(fixture.Endpoint.Channel(certificate, fixture.Pki.Ca));

        Assert.Equal(StatusCode.OK, status.StatusCode);
    }

    [Fact]
    public async Task AClientWithoutACertificateCannotConnect()
    {
        var status = await ListHostsAsync(fixture.Endpoint.Channel(null, fixture.Pki.Ca));

        // The handshake is refused; gRPC reports it as Unavailable, or as Internal when the
        // server closes the connection mid-handshake (seen under load).
        Assert.True(status.StatusCode is StatusCode.Unavailable or StatusCode.Unauthenticated or StatusCode.Internal, status.ToString());
        Assert.NotEqual(StatusCode.OK, status.StatusCode);
    }

    [Fact]
    public async Task AClientCertificateOfAnotherCaIsRefused()
    {
        using var otherPki = new TestPki("some other CA");
        using var certificate = otherPki.Client("operator", "mallory");

        var status = await ListHostsAsync(fixture.Endpoint.Channel(certificate, fixture.Pki.Ca));

        AssertRefusedInTheHandshake(status);
        await WaitForRefusalAsync("mallory");
    }

    [Fact]
    public async Task ASelfSignedClientCertificateNamingTheCaIsRefused()
    {
        // Same subject as the CA, its own key: chain building must not be fooled by the name.
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            "CN=impostor, OU=operator, O=evacuationd", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var impostor = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        var status = await ListHostsAsync(fixture.Endpoint.Channel(impostor, fixture.Pki.Ca));

        AssertRefusedInTheHandshake(status);
        await WaitForRefusalAsync("impostor");
    }

    [Fact]
    public async Task AnExpiredClientCertificateIsRefused()
    {
        using var certificate = fixture.Pki.Issue("CN=expired-operator, OU=operator, O=evacuationd", "1.3.6.1.5.5.7.3.2",
            notBefore: DateTimeOffset.UtcNow.AddDays(-10), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        var status = await ListHostsAsync(fixture.Endpoint.Channel(certificate, fixture.Pki.Ca));

        AssertRefusedInTheHandshake(status);
        await WaitForRefusalAsync("expired-operator");
    }

    [Fact]
    public async Task ACertificateForServersOnlyIsNotAClientCertificate()
    {
        using var certificate = fixture.Pki.Issue("CN=server-as-client, OU=operator, O=evacuationd", "1.3.6.1.5.5.7.3.1");

        var status = await ListHostsAsync(fixture.Endpoint.Channel(certificate, fixture.Pki.Ca));

        AssertRefusedInTheHandshake(status);
        await WaitForRefusalAsync("server-as-client");
    }

    [Fact]
    public async Task ACertificateWithoutExtendedKeyUsageIsAccepted()
    {
        using var certificate = fixture.Pki.Issue("CN=plain, OU=viewer, O=evacuationd", usage: null);

        var status = await ListHostsAsync(fixture.Endpoint.Channel(certificate, fixture.Pki.Ca));

        Assert.Equal(StatusCode.OK, status.StatusCode);
    }

    /// <summary>
    /// With TLS 1.3 the server refuses a client certificate after the client finished its side
    /// of the handshake: the client then sees the connection fail (Unavailable) or HTTP/2 never
    /// start (Internal, "did not complete the HTTP/2 handshake"), depending on timing.
    /// </summary>
    private static void AssertRefusedInTheHandshake(Status status) =>
        Assert.True(status.StatusCode is StatusCode.Unavailable or StatusCode.Unauthenticated
            || status.StatusCode == StatusCode.Internal && status.Detail.Contains("HTTP/2 handshake", StringComparison.Ordinal), status.ToString());

    /// <summary>The refusal is logged with the certificate (the log line may trail the client's error).</summary>
    private async Task WaitForRefusalAsync(string subject)
    {
        try
        {
            await fixture.Endpoint.Logs.WaitForAsync(e => e.EventId.Id == 810 && e.Message.Contains(subject, StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"no refusal of {subject} was logged");
        }
    }
}
