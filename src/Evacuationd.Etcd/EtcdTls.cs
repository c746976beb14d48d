using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Evacuationd.Etcd;

/// <summary>
/// TLS to etcd from <see cref="EtcdOptions.CaFile"/>, <see cref="EtcdOptions.CertFile"/> and
/// <see cref="EtcdOptions.KeyFile"/>: etcd's server certificate must chain to a root of CaFile
/// (the system store is not consulted), carry the endpoint's host name or IP address, and be
/// valid for TLS servers; the client certificate (with the intermediates that follow it in
/// CertFile) is offered for etcd's <c>--client-cert-auth</c>.
/// </summary>
internal sealed class EtcdTls : IDisposable
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private readonly X509Certificate2Collection _roots;
    private readonly X509Certificate2Collection _intermediates;
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2Collection _clientChain;
    private string? _lastRejection;

    private EtcdTls(X509Certificate2Collection roots, X509Certificate2Collection intermediates, X509Certificate2? clientCertificate, X509Certificate2Collection clientChain)
    {
        _roots = roots;
        _intermediates = intermediates;
        _clientCertificate = clientCertificate;
        _clientChain = clientChain;
    }

    /// <summary>Why the last server certificate was refused (null when none was).</summary>
    public string? LastRejection => Volatile.Read(ref _lastRejection);

    /// <summary>The client certificate offered to etcd, if any.</summary>
    public X509Certificate2? ClientCertificate => _clientCertificate;

    /// <summary>Every problem of the TLS settings, by key (loads the files; an expired client certificate by <paramref name="time"/>).</summary>
    public static IReadOnlyList<string> Check(EtcdOptions options, bool httpsEndpoints, string section, TimeProvider? time = null)
    {
        var errors = new List<string>();
        using var loaded = TryLoad(options, httpsEndpoints, section, time ?? TimeProvider.System, errors);
        return errors;
    }

    /// <summary>The TLS material of <paramref name="options"/> (https endpoints); throws <see cref="ArgumentException"/> naming each problem by key.</summary>
    public static EtcdTls Load(EtcdOptions options, string section = "Etcd", TimeProvider? time = null)
    {
        var errors = new List<string>();
        var tls = TryLoad(options, httpsEndpoints: true, section, time ?? TimeProvider.System, errors);
        if (errors.Count > 0 || tls is null)
        {
            tls?.Dispose();
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
        return tls;
    }

    /// <summary>
    /// The HTTP handler of the gRPC channel: TLS with the client certificate and the server check
    /// of this class. Keepalive pings as dotnet-etcd's own handler sends them (every 30 s), so a
    /// dead connection is noticed on idle watch and keepalive streams too.
    /// </summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        KeepAlivePingDelay = TimeSpan.FromSeconds(30),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
        EnableMultipleHttp2Connections = true,
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ValidateServer(certificate, chain, errors),
            ClientCertificateContext = _clientCertificate is null ? null : SslStreamCertificateContext.Create(_clientCertificate, _clientChain, offline: true),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        },
    };

    /// <summary>
    /// Accepts etcd's certificate only when it chains to a root of CaFile and names the host the
    /// connection was made to (the platform's name check; its chain verdict against the system
    /// store is ignored and replaced by one against CaFile).
    /// </summary>
    internal bool ValidateServer(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return Reject("etcd presented no server certificate");
        }
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return Reject($"etcd's server certificate {leaf.Subject} does not name the endpoint's host (its subject alternative names must hold the host name or IP address of the endpoint URL)");
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
            chain.ChainPolicy.ExtraStore.AddRange(_intermediates);
            if (presented is not null)
            {
                // The intermediates etcd sent along with its certificate.
                chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
                foreach (var element in presented.ChainElements.Skip(1))
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthOid));
            var trusted = chain.Build(leaf);
            var why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
            if (!trusted)
            {
                return Reject($"etcd's server certificate {leaf.Subject} (issuer {leaf.Issuer}) does not chain to a CA of Etcd:CaFile, or is not for TLS servers: {why}");
            }
            Volatile.Write(ref _lastRejection, null);
            return true;
        }
        finally
        {
            if (!ReferenceEquals(leaf, certificate))
            {
                leaf.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _clientCertificate?.Dispose();
        foreach (var c in _roots.Concat(_intermediates).Concat(_clientChain))
        {
            c.Dispose();
        }
    }

    private bool Reject(string why)
    {
        Volatile.Write(ref _lastRejection, why);
        return false;
    }

    private static EtcdTls? TryLoad(EtcdOptions options, bool httpsEndpoints, string section, TimeProvider time, List<string> errors)
    {
        var caKey = $"{section}:CaFile";
        var certKey = $"{section}:CertFile";
        var keyKey = $"{section}:KeyFile";
        var hasCa = !string.IsNullOrEmpty(options.CaFile);
        var hasCert = !string.IsNullOrEmpty(options.CertFile);
        var hasKey = !string.IsNullOrEmpty(options.KeyFile);
        if (!httpsEndpoints)
        {
            if (hasCa || hasCert || hasKey)
            {
                var set = string.Join(", ", new[] { (hasCa, caKey), (hasCert, certKey), (hasKey, keyKey) }.Where(x => x.Item1).Select(x => x.Item2));
                errors.Add($"{set}: TLS files are set but {section}:Endpoints are http URLs: use https endpoints for TLS to etcd, or leave the TLS files out.");
            }
            return null;
        }
        if (!hasCa)
        {
            errors.Add($"{caKey} is required with https endpoints (the PEM CA certificate that signed etcd's server certificates).");
        }
        if (hasCert != hasKey)
        {
            errors.Add(hasCert
                ? $"{keyKey} is required with {certKey} (the PEM private key of the client certificate)."
                : $"{certKey} is required with {keyKey} (the PEM client certificate of that key).");
        }

        var roots = new X509Certificate2Collection();
        var intermediates = new X509Certificate2Collection();
        if (hasCa)
        {
            LoadAuthorities(caKey, options.CaFile!, roots, intermediates, errors);
        }
        X509Certificate2? client = null;
        var clientChain = new X509Certificate2Collection();
        if (hasCert && hasKey)
        {
            client = LoadClient(certKey, options.CertFile!, keyKey, options.KeyFile!, clientChain, time.GetUtcNow(), errors);
        }
        if (errors.Count > 0)
        {
            client?.Dispose();
            foreach (var c in roots.Concat(intermediates).Concat(clientChain))
            {
                c.Dispose();
            }
            return null;
        }
        return new EtcdTls(roots, intermediates, client, clientChain);
    }

    private static void LoadAuthorities(string key, string file, X509Certificate2Collection roots, X509Certificate2Collection intermediates, List<string> errors)
    {
        var all = ReadCertificates(key, file, errors);
        if (all is null)
        {
            return;
        }
        foreach (var ca in all)
        {
            if (ca.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: false })
            {
                errors.Add($"{key}: {ca.Subject} is not a CA certificate (basic constraints CA:FALSE); give the CA that signed etcd's server certificates.");
            }
            (ca.SubjectName.RawData.AsSpan().SequenceEqual(ca.IssuerName.RawData) ? roots : intermediates).Add(ca);
        }
        if (roots.Count == 0)
        {
            errors.Add($"{key}: '{file}' holds no self-signed root CA certificate; etcd's certificate is trusted only through a root in this file (intermediates may follow it).");
        }
    }

    private static X509Certificate2? LoadClient(string certKey, string certFile, string keyKey, string keyFile, X509Certificate2Collection chain, DateTimeOffset now, List<string> errors)
    {
        var keyExists = Exists(keyKey, keyFile, errors);
        var all = ReadCertificates(certKey, certFile, errors);
        if (all is null || !keyExists)
        {
            return null;
        }
        using (var leaf = all[0])
        {
            if (new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero) < now)
            {
                errors.Add($"{certKey}: the client certificate {leaf.Subject} expired on {leaf.NotAfter.ToUniversalTime():u}.");
            }
        }
        for (var i = 1; i < all.Count; i++)
        {
            chain.Add(all[i]);
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

    /// <summary>Every certificate of a PEM file; null (with the problem in <paramref name="errors"/>) when there is none.</summary>
    private static X509Certificate2Collection? ReadCertificates(string key, string file, List<string> errors)
    {
        if (!Exists(key, file, errors))
        {
            return null;
        }
        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPemFile(file);
        }
        catch (Exception ex) when (IsLoadError(ex))
        {
            errors.Add($"{key}: cannot read '{file}' as PEM certificates: {ex.Message}");
            return null;
        }
        if (all.Count == 0)
        {
            errors.Add($"{key}: '{file}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
            return null;
        }
        return all;
    }

    private static bool Exists(string key, string file, List<string> errors)
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
}

/// <summary>
/// Adds the reason to a unary call that failed in the TLS handshake: why etcd's certificate was
/// refused (<see cref="EtcdTls.LastRejection"/>), or that etcd refused ours. Same status code:
/// the store handles the failure as before, its message just says what to fix.
/// </summary>
internal sealed class EtcdTlsExplainer(EtcdTls tls) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(ExplainAsync(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>What to fix for a failure with this detail; null when it is no TLS handshake failure.</summary>
    internal string? Explain(string detail)
    {
        if (detail.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal))
        {
            return tls.LastRejection ?? "etcd's server certificate was refused";
        }
        var refused = tls.ClientCertificate is null
            ? "refused the connection without a client certificate: etcd runs with --client-cert-auth, set Etcd:CertFile and Etcd:KeyFile"
            : $"refused the client certificate {tls.ClientCertificate.Subject} of Etcd:CertFile (not signed by a CA of etcd's --trusted-ca-file, expired, or not for TLS clients)";
        if (detail.Contains("alert bad certificate", StringComparison.OrdinalIgnoreCase)
            || detail.Contains("alert certificate required", StringComparison.OrdinalIgnoreCase)
            || detail.Contains("alert unknown ca", StringComparison.OrdinalIgnoreCase)
            || detail.Contains("alert certificate unknown", StringComparison.OrdinalIgnoreCase))
        {
            return "etcd " + refused;
        }
        if (detail.Contains("did not complete the HTTP/2 handshake", StringComparison.OrdinalIgnoreCase))
        {
            // TLS 1.3: our side of the handshake is done when etcd checks our certificate, and its
            // refusal may arrive as a closed connection rather than as the alert.
            return "etcd closed the TLS connection before HTTP/2 started; it most likely " + refused;
        }
        return null;
    }

    private async Task<TResponse> ExplainAsync<TResponse>(Task<TResponse> response)
    {
        try
        {
            return await response.ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal && Explain(ex.Status.Detail) is { } why)
        {
            throw new RpcException(new Status(ex.StatusCode, $"{why}. {ex.Status.Detail}", ex.Status.DebugException), ex.Trailers);
        }
    }
}
