namespace Evacuationd.Etcd;

/// <summary>How to reach etcd. Section "Etcd" of the configuration.</summary>
public sealed class EtcdOptions
{
    /// <summary>
    /// Client URLs, comma separated (required), e.g. http://10.0.0.5:2379,http://10.0.0.6:2379,
    /// all http or all https (https needs <see cref="CaFile"/>).
    /// </summary>
    public string Endpoints { get; set; } = "";

    /// <summary>
    /// PEM file of the certificate authorities that issued etcd's server certificates (required
    /// with https endpoints). Only these are trusted, not the system store; the endpoint's host
    /// must match the server certificate.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>PEM client certificate (leaf first, then any intermediates) for etcd's <c>--client-cert-auth</c>; with <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; set; }

    /// <summary>PEM private key (unencrypted) of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>etcd user (etcd auth); with <see cref="Password"/>.</summary>
    public string? Username { get; set; }

    /// <summary>Password of <see cref="Username"/>. Never logged, never in an error message.</summary>
    public string? Password { get; set; }

    /// <summary>Key prefix of this installation. Default /evacuationd.</summary>
    public string Prefix { get; set; } = "/evacuationd";

    /// <summary>Bound of one etcd request. Default 5 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a write whose outcome is unknown (timeout, leader change) is retried and
    /// re-read before the store gives up with "unavailable". Default 30 s.
    /// </summary>
    public TimeSpan WriteResolveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Records written per transaction when a plan is committed (etcd allows 128 operations). Default 100.</summary>
    public int PlanBatchSize { get; set; } = 100;

    public IReadOnlyList<Uri> EndpointUris() =>
        Endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(e => new Uri(e)).ToList();

    /// <summary>The endpoints are https (TLS to etcd).</summary>
    internal bool UsesTls => EndpointUris().Any(u => u.Scheme == Uri.UriSchemeHttps);

    /// <summary>Etcd auth is configured (<see cref="Username"/> set).</summary>
    internal bool UsesAuth => !string.IsNullOrEmpty(Username);

    /// <summary>Every problem, by configuration key (empty when valid). Loads the TLS files to check them.</summary>
    public IReadOnlyList<string> Validate(string section = "Etcd")
    {
        var errors = new List<string>();
        var endpoints = Endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
        {
            errors.Add($"{section}:Endpoints is required (comma-separated etcd client URLs, e.g. http://10.0.0.5:2379).");
        }
        var schemes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in endpoints)
        {
            if (!Uri.TryCreate(e, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttp && u.Scheme != Uri.UriSchemeHttps) || u.Port <= 0)
            {
                errors.Add($"{section}:Endpoints: '{e}' is not an http or https URL with a host and port (e.g. https://10.0.0.5:2379).");
                continue;
            }
            schemes.Add(u.Scheme);
        }
        var tls = schemes.Contains(Uri.UriSchemeHttps);
        if (schemes.Count > 1)
        {
            errors.Add($"{section}:Endpoints mixes http and https URLs: use the same scheme for every endpoint.");
        }
        errors.AddRange(EtcdTls.Check(this, tls, section));
        if (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(Password))
        {
            errors.Add(string.IsNullOrEmpty(Username)
                ? $"{section}:Password is set without {section}:Username: set both (etcd auth) or neither."
                : $"{section}:Username is set without {section}:Password: set both (etcd auth) or neither.");
        }
        if (!Prefix.StartsWith('/') || Prefix.Length < 2 || Prefix.Contains("//", StringComparison.Ordinal))
        {
            errors.Add($"{section}:Prefix must start with '/' and name a key prefix (got '{Prefix}').");
        }
        if (RequestTimeout <= TimeSpan.Zero || WriteResolveTimeout < RequestTimeout)
        {
            errors.Add($"{section}:RequestTimeout must be positive and WriteResolveTimeout at least as long (got {RequestTimeout} and {WriteResolveTimeout}).");
        }
        if (PlanBatchSize is < 1 or > 127)
        {
            errors.Add($"{section}:PlanBatchSize must be between 1 and 127 (got {PlanBatchSize}).");
        }
        return errors;
    }
}
