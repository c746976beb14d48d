using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Evacuationd.Testing.Etcd;

/// <summary>A PEM certificate and its unencrypted PEM (PKCS#8) key on disk.</summary>
public sealed record EtcdTestCertificateFiles(string CertFile, string KeyFile);

/// <summary>
/// A throwaway certificate authority made in-process (ECDSA P-256, valid from an hour ago for
/// two days) that issues etcd server and client certificates as PEM files, for TLS tests.
/// </summary>
public sealed class EtcdTestAuthority : IDisposable
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private readonly ECDsa _key;

    private EtcdTestAuthority(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
    }

    /// <summary>The self-signed CA certificate (public part).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A new self-signed CA called <paramref name="name"/>.</summary>
    public static EtcdTestAuthority Create(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}, O=evacuationd tests"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var withKey = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(2));
        return new EtcdTestAuthority(X509CertificateLoader.LoadCertificate(withKey.RawData), key);
    }

    /// <summary>Writes the CA certificate as PEM to <paramref name="path"/>; returns the path.</summary>
    public string WriteCertificate(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, Certificate.ExportCertificatePem() + "\n");
        return path;
    }

    /// <summary>
    /// A server certificate for etcd (serverAuth and clientAuth: etcd 3.4's gateway dials its own
    /// listener with it) naming <paramref name="addresses"/> and <paramref name="dnsNames"/>,
    /// written to <c>{directory}/{name}.pem</c> and <c>{name}-key.pem</c>.
    /// </summary>
    public EtcdTestCertificateFiles IssueServer(string directory, string name, IEnumerable<IPAddress> addresses, IEnumerable<string>? dnsNames = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var a in addresses)
        {
            san.AddIpAddress(a);
        }
        foreach (var d in dnsNames ?? [])
        {
            san.AddDnsName(d);
        }
        return Issue(directory, name, $"CN={name}", [ServerAuthOid, ClientAuthOid], san.Build());
    }

    /// <summary>A client certificate with common name <paramref name="commonName"/> (etcd maps it to a user when no token is sent), written as <c>{name}.pem</c> / <c>{name}-key.pem</c>.</summary>
    public EtcdTestCertificateFiles IssueClient(string directory, string name, string commonName) =>
        Issue(directory, name, $"CN={commonName}", [ClientAuthOid], san: null);

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }

    private EtcdTestCertificateFiles Issue(string directory, string name, string subject, string[] usages, X509Extension? san)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName(subject), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var oids = new OidCollection();
        foreach (var u in usages)
        {
            oids.Add(new Oid(u));
        }
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // positive
        var now = DateTimeOffset.UtcNow;
        var signer = X509SignatureGenerator.CreateForECDsa(_key);
        using var issued = request.Create(Certificate.SubjectName, signer, now.AddHours(-1), now.AddDays(2), serial);
        var files = new EtcdTestCertificateFiles(Path.Combine(directory, name + ".pem"), Path.Combine(directory, name + "-key.pem"));
        File.WriteAllText(files.CertFile, issued.ExportCertificatePem() + "\n");
        File.WriteAllText(files.KeyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(files.KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return files;
    }
}

/// <summary>The TLS files of a cluster started with <see cref="EtcdClusterOptions.Tls"/>: its CA and a client certificate it accepts.</summary>
public sealed record EtcdClusterTls(string CaFile, string CertFile, string KeyFile, EtcdTestAuthority Authority);
