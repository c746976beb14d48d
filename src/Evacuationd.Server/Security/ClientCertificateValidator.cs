using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;

namespace Evacuationd.Server.Security;

/// <summary>
/// Kestrel's client-certificate check: the certificate must chain to a root of
/// Grpc:ClientCaFile (custom root trust: the system roots are not trusted for clients), be
/// within its validity and, if it names extended key usages, be for TLS clients. Refusals are
/// logged with the reason; the handshake then fails.
/// </summary>
internal sealed partial class ClientCertificateValidator(X509Certificate2Collection roots, X509Certificate2Collection intermediates)
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>Set once the host's logging exists (before the first connection).</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The <c>HttpsConnectionAdapterOptions.ClientCertificateValidation</c> callback.</summary>
    public bool Validate(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors ignored) =>
        Check(certificate, presented?.ChainPolicy.ExtraStore) is not { } reason || Refuse(certificate, reason);

    /// <summary>Null when the certificate is acceptable, else why not.</summary>
    public string? Check(X509Certificate2 certificate, X509Certificate2Collection? sentAlong)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(roots);
        policy.ExtraStore.AddRange(intermediates);
        if (sentAlong is not null)
        {
            policy.ExtraStore.AddRange(sentAlong);
        }
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.ApplicationPolicy.Add(new Oid(ClientAuthOid));
        policy.DisableCertificateDownloads = true;
        try
        {
            if (chain.Build(certificate))
            {
                return null;
            }
            var statuses = chain.ChainStatus
                .Where(s => s.Status != X509ChainStatusFlags.NoError)
                .Select(s => $"{s.Status}: {s.StatusInformation.Trim()}")
                .Distinct()
                .ToList();
            return statuses.Count == 0 ? "the chain could not be built" : string.Join("; ", statuses);
        }
        catch (CryptographicException ex)
        {
            return $"the chain could not be built: {ex.Message}";
        }
    }

    private bool Refuse(X509Certificate2 certificate, string reason)
    {
        Log.Refused(Logger, certificate.Subject, certificate.Issuer, certificate.SerialNumber, reason);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 810, Level = LogLevel.Warning, Message = "Refused the TLS client certificate {Subject} (issuer {Issuer}, serial {Serial}): it does not chain to Grpc:ClientCaFile as a client certificate: {Reason}")]
        public static partial void Refused(ILogger logger, string subject, string issuer, string serial, string reason);
    }
}
