using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Evacuationd.Cli.Connection;

/// <summary>The names of the three TLS options in messages (evacctl's flags, or the fence agent's parameters).</summary>
internal sealed record TlsOptionNames(string Ca, string Cert, string Key)
{
    /// <summary>evacctl's flags.</summary>
    public static TlsOptionNames CommandLine { get; } = new("--ca", "--cert", "--key");
}

/// <summary>
/// Client side of TLS: the CA bundle to trust (the server chain is validated against it
/// only, the host name as usual) and the client certificate for mutual TLS.
/// </summary>
internal sealed class TlsSettings : IDisposable
{
    private readonly X509Certificate2Collection trusted;
    private readonly X509Certificate2? clientCertificate;
    private readonly X509Certificate2Collection clientChain;

    private TlsSettings(X509Certificate2Collection trusted, X509Certificate2? clientCertificate, X509Certificate2Collection clientChain)
    {
        this.trusted = trusted;
        this.clientCertificate = clientCertificate;
        this.clientChain = clientChain;
    }

    public bool HasFiles => trusted.Count > 0 || clientCertificate is not null;

    /// <summary>
    /// Loads the PEM files. Throws <see cref="UsageException"/> for inconsistent options or
    /// files that cannot be read, and when TLS files are given for a plain http:// server.
    /// </summary>
    public static TlsSettings Load(string? caFile, string? certFile, string? keyFile, IReadOnlyList<Uri> servers, TlsOptionNames? optionNames = null)
    {
        var n = optionNames ?? TlsOptionNames.CommandLine;
        if ((certFile is null) != (keyFile is null))
        {
            throw new UsageException($"{n.Cert} and {n.Key} must be given together (the client certificate and its private key, PEM)");
        }

        var plain = servers.FirstOrDefault(s => s.Scheme == Uri.UriSchemeHttp);
        if ((caFile is not null || certFile is not null) && plain is not null)
        {
            throw new UsageException($"{n.Ca}/{n.Cert}/{n.Key} are for https:// servers, but {plain.OriginalString} is plain http://");
        }

        var trusted = new X509Certificate2Collection();
        if (caFile is not null)
        {
            Read(n.Ca, caFile, () => trusted.ImportFromPemFile(caFile));
            if (trusted.Count == 0)
            {
                throw new UsageException($"{n.Ca}: {Shown.Value(caFile)} holds no PEM certificate");
            }
        }

        X509Certificate2? client = null;
        var chain = new X509Certificate2Collection();
        if (certFile is not null && keyFile is not null)
        {
            client = Read($"{n.Cert}/{n.Key}", certFile, () => LoadClientCertificate(certFile, keyFile));
            // Intermediates that follow the leaf in the certificate file are sent along.
            Read(n.Cert, certFile, () => chain.ImportFromPemFile(certFile));
            foreach (var extra in chain.Where(c => c.Thumbprint == client.Thumbprint).ToList())
            {
                chain.Remove(extra);
            }
        }

        return new TlsSettings(trusted, client, chain);
    }

    /// <summary>The SslStream options for an https:// server.</summary>
    public SslClientAuthenticationOptions ClientOptions()
    {
        var options = new SslClientAuthenticationOptions();
        if (trusted.Count > 0)
        {
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(trusted);
            options.CertificateChainPolicy = policy;
        }

        if (clientCertificate is not null)
        {
            options.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, clientChain, offline: true);
        }

        return options;
    }

    public void Dispose()
    {
        foreach (var cert in trusted.Concat(clientChain))
        {
            cert.Dispose();
        }

        clientCertificate?.Dispose();
    }

    private static X509Certificate2 LoadClientCertificate(string certFile, string keyFile)
    {
        var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        if (!OperatingSystem.IsWindows())
        {
            return pem;
        }

        // Windows' TLS stack cannot use an ephemeral key: round-trip through PKCS#12.
        using (pem)
        {
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
        }
    }

    private static void Read(string option, string file, Action load) => Read(option, file, () =>
    {
        load();
        return true;
    });

    private static T Read<T>(string option, string file, Func<T> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new UsageException($"{option}: cannot load {Shown.Value(file)}: {Shown.Line(e.Message)}");
        }
    }
}
