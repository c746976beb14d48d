namespace Evacuationd.Server.Security;

/// <summary>
/// The gRPC endpoint. Section "Grpc" of the configuration. Production listens with mutual TLS
/// (https); plaintext http is allowed on loopback only, as a development mode in which every
/// caller is an operator (S8).
/// </summary>
public sealed class GrpcOptions
{
    /// <summary>
    /// Where to listen: <c>https://ADDRESS:PORT</c> (mutual TLS; ADDRESS an IP address, 0.0.0.0,
    /// [::] or localhost) or <c>http://127.0.0.1:PORT</c> (plaintext, loopback only, development).
    /// </summary>
    public string? Listen { get; set; }

    /// <summary>PEM server certificate (may be followed by intermediate CA certificates to send along). Required with https.</summary>
    public string? CertFile { get; set; }

    /// <summary>PEM private key of <see cref="CertFile"/> (PKCS#8, PKCS#1 or SEC1, unencrypted). Required with https.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// PEM CA certificate(s) that client certificates must chain to. Only these are trusted for
    /// clients (the system roots are not); must contain the self-signed root, may contain
    /// intermediates. Required with https.
    /// </summary>
    public string? ClientCaFile { get; set; }

    /// <summary>
    /// Optional plaintext listener serving grpc.health.v1 only (e.g. <c>http://0.0.0.0:50444</c>),
    /// for probes without a client certificate such as Kubernetes' grpc probe. Empty: none.
    /// </summary>
    public string? HealthListen { get; set; }

    /// <summary>Every problem that can be seen without reading the files, by key (empty when valid).</summary>
    public IReadOnlyList<string> Validate(string section = "Grpc")
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Listen))
        {
            errors.Add($"{section}:Listen is required (e.g. https://0.0.0.0:50077 with {section}:CertFile, {section}:KeyFile and {section}:ClientCaFile, or http://127.0.0.1:50077 for development).");
            return errors;
        }
        GrpcListen parsed;
        try
        {
            parsed = GrpcListen.Parse(Listen, section);
        }
        catch (Configuration.ConfigurationException ex)
        {
            errors.AddRange(ex.Errors);
            return errors;
        }
        var files = new (string Key, string? Value, string What)[]
        {
            ("CertFile", CertFile, "the PEM server certificate"),
            ("KeyFile", KeyFile, "the PEM private key of the server certificate"),
            ("ClientCaFile", ClientCaFile, "the PEM CA certificate that client certificates must chain to"),
        };
        try
        {
            HealthListener.Parse(HealthListen, parsed.Endpoint.Port, section);
        }
        catch (Configuration.ConfigurationException ex)
        {
            errors.AddRange(ex.Errors);
        }
        if (parsed.Tls)
        {
            foreach (var (key, value, what) in files.Where(f => string.IsNullOrWhiteSpace(f.Value)))
            {
                errors.Add($"{section}:{key} is required with an https {section}:Listen ({what}).");
            }
        }
        else
        {
            var set = files.Where(f => !string.IsNullOrWhiteSpace(f.Value)).Select(f => $"{section}:{f.Key}").ToList();
            if (set.Count > 0)
            {
                errors.Add($"{section}:Listen is plaintext http ({Listen}) but {string.Join(", ", set)} {(set.Count == 1 ? "is" : "are")} set: use an https {section}:Listen for mutual TLS, or remove the TLS files (no TLS is served on http).");
            }
        }
        return errors;
    }
}
