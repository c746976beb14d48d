using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Evacuationd.Server.Tests.Security;

/// <summary>
/// A throwaway CA made in-process (no openssl): a server certificate for 127.0.0.1/localhost
/// written as PEM files for Grpc:CertFile/KeyFile/ClientCaFile, and client certificates on demand.
/// </summary>
internal sealed class TestPki : IDisposable
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    public TestPki(string name = "evacuationd test CA")
    {
        Directory = Path.Combine(Path.GetTempPath(), $"evacuationd-pki-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=evacuationd", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-90), DateTimeOffset.UtcNow.AddYears(5));

        CaFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
        var server = Issue("CN=localhost, OU=server, O=evacuationd", ServerAuth, dnsNames: ["localhost"], ipAddresses: [IPAddress.Loopback]);
        ServerCertFile = Path.Combine(Directory, "server.pem");
        ServerKeyFile = Path.Combine(Directory, "server-key.pem");
        WritePem(server, ServerCertFile, ServerKeyFile);
        server.Dispose();
    }

    public string Directory { get; }

    /// <summary>The CA, with its private key.</summary>
    public X509Certificate2 Ca { get; }

    public string CaFile { get; }

    public string ServerCertFile { get; }

    public string ServerKeyFile { get; }

    /// <summary>A client certificate of <paramref name="role"/> (its OU), CN <paramref name="cn"/>.</summary>
    public X509Certificate2 Client(string role, string? cn = null) =>
        Issue($"CN={cn ?? role}, OU={role}, O=evacuationd", ClientAuth);

    /// <summary>A certificate signed by this CA; <paramref name="usage"/> null = no extended key usage extension.</summary>
    public X509Certificate2 Issue(
        string subject,
        string? usage,
        IReadOnlyList<string>? dnsNames = null,
        IReadOnlyList<IPAddress>? ipAddresses = null,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        if (usage is not null)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        }
        if (dnsNames is { Count: > 0 } || ipAddresses is { Count: > 0 })
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var d in dnsNames ?? [])
            {
                san.AddDnsName(d);
            }
            foreach (var ip in ipAddresses ?? [])
            {
                san.AddIpAddress(ip);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var from = notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        using var issued = request.Create(Ca, from, to, serial);
        return issued.CopyWithPrivateKey(key);
    }

    public static void WritePem(X509Certificate2 certificate, string certFile, string keyFile)
    {
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("no EC private key");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }

    public void Dispose()
    {
        Ca.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
