using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Evacuationd.Server.Configuration;

namespace Evacuationd.Server.Security;

/// <summary>
/// The PEM files of a mutual-TLS listener, loaded and checked at start: the server certificate
/// with its key (and intermediates to send along), and the client CA (the only trust anchor
/// for client certificates).
/// </summary>
internal sealed class TlsCertificates : IDisposable
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private TlsCertificates(X509Certificate2 server, X509Certificate2Collection serverChain, X509Certificate2Collection clientRoots, X509Certificate2Collection clientIntermediates)
    {
        ServerCertificate = server;
        ServerChain = serverChain;
        ClientRoots = clientRoots;
        ClientIntermediates = clientIntermediates;
    }

    public X509Certificate2 ServerCertificate { get; }

    /// <summary>Intermediate CA certificates that followed the server certificate in Grpc:CertFile.</summary>
    public X509Certificate2Collection ServerChain { get; }

    /// <summary>Self-signed CA certificates of Grpc:ClientCaFile: the trust anchors for clients.</summary>
    public X509Certificate2Collection ClientRoots { get; }

    /// <summary>Other CA certificates of Grpc:ClientCaFile (intermediates under those roots).</summary>
    public X509Certificate2Collection ClientIntermediates { get; }

    /// <summary>Loads the files; every problem, by key, in one <see cref="ConfigurationException"/>.</summary>
    public static TlsCertificates Load(string certFile, string keyFile, string clientCaFile, DateTimeOffset now, string section = "Grpc")
    {
        var errors = new List<string>();
        var server = LoadServer(certFile, keyFile, now, section, errors, out var serverChain);
        var (roots, intermediates) = LoadClientCa(clientCaFile, now, section, errors);
        if (errors.Count > 0)
        {
            server?.Dispose();
            foreach (var c in serverChain.Concat(roots).Concat(intermediates))
            {
                c.Dispose();
            }
            throw new ConfigurationException(errors);
        }
        return new TlsCertificates(server!, serverChain, roots, intermediates);
    }

    private static X509Certificate2? LoadServer(string certFile, string keyFile, DateTimeOffset now, string section, List<string> errors, out X509Certificate2Collection chain)
    {
        chain = [];
        var certKey = $"{section}:CertFile";
        var keyKey = $"{section}:KeyFile";
        var certOk = FileExists(certKey, certFile, errors);
        var keyOk = FileExists(keyKey, keyFile, errors);
        if (!certOk)
        {
            return null;
        }
        try
        {
            chain.ImportFromPemFile(certFile);
        }
        catch (Exception ex) when (IsLoadError(ex))
        {
            errors.Add($"{certKey}: cannot read '{certFile}' as PEM certificates: {ex.Message}");
            return null;
        }
        if (chain.Count == 0)
        {
            errors.Add($"{certKey}: '{certFile}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
            return null;
        }
        var leaf = chain[0];
        chain.RemoveAt(0);
        using (leaf)
        {
            CheckValidity(certKey, "the server certificate", leaf, now, errors);
            if (leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is { } eku
                && !eku.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == ServerAuthOid))
            {
                errors.Add($"{certKey}: the certificate {leaf.Subject} is not for TLS servers (its extended key usage lacks serverAuth).");
            }
        }
        if (!keyOk)
        {
            return null;
        }
        try
        {
            var withKey = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            if (!OperatingSystem.IsWindows())
            {
                return withKey;
            }
            // Windows' TLS stack cannot use an ephemeral key: round-trip through PKCS#12.
            using (withKey)
            {
                return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
            }
        }
        catch (Exception ex) when (IsLoadError(ex))
        {
            errors.Add($"{keyKey}: cannot use '{keyFile}' as the private key of {certKey} (an unencrypted PEM key matching the certificate is needed): {ex.Message}");
            return null;
        }
    }

    private static (X509Certificate2Collection Roots, X509Certificate2Collection Intermediates) LoadClientCa(string file, DateTimeOffset now, string section, List<string> errors)
    {
        var key = $"{section}:ClientCaFile";
        var roots = new X509Certificate2Collection();
        var intermediates = new X509Certificate2Collection();
        if (!FileExists(key, file, errors))
        {
            return (roots, intermediates);
        }
        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPemFile(file);
        }
        catch (Exception ex) when (IsLoadError(ex))
        {
            errors.Add($"{key}: cannot read '{file}' as PEM certificates: {ex.Message}");
            return (roots, intermediates);
        }
        if (all.Count == 0)
        {
            errors.Add($"{key}: '{file}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
            return (roots, intermediates);
        }
        foreach (var ca in all)
        {
            if (ca.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: false })
            {
                errors.Add($"{key}: {ca.Subject} is not a CA certificate (basic constraints CA:FALSE); give the CA that signs the client certificates.");
            }
            CheckValidity(key, "the CA certificate", ca, now, errors);
            (ca.SubjectName.RawData.AsSpan().SequenceEqual(ca.IssuerName.RawData) ? roots : intermediates).Add(ca);
        }
        if (roots.Count == 0)
        {
            errors.Add($"{key}: '{file}' holds no self-signed root CA certificate; client certificates are checked against that root only (add the root, intermediates may follow).");
        }
        return (roots, intermediates);
    }

    private static void CheckValidity(string key, string what, X509Certificate2 certificate, DateTimeOffset now, List<string> errors)
    {
        if (certificate.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            errors.Add($"{key}: {what} {certificate.Subject} expired on {certificate.NotAfter.ToUniversalTime():u}.");
        }
        else if (certificate.NotBefore.ToUniversalTime() > now.UtcDateTime)
        {
            errors.Add($"{key}: {what} {certificate.Subject} is not valid before {certificate.NotBefore.ToUniversalTime():u}.");
        }
    }

    private static bool FileExists(string key, string file, List<string> errors)
    {
        if (File.Exists(file))
        {
            return true;
        }
        errors.Add($"{key}: the file '{Path.GetFullPath(file)}' does not exist.");
        return false;
    }

    private static bool IsLoadError(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException;

    public void Dispose()
    {
        ServerCertificate.Dispose();
        foreach (var c in ServerChain.Concat(ClientRoots).Concat(ClientIntermediates))
        {
            c.Dispose();
        }
    }
}
