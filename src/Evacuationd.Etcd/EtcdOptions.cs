namespace Evacuationd.Etcd;

/// <summary>How to reach etcd. Section "Etcd" of the configuration.</summary>
public sealed class EtcdOptions
{
    /// <summary>Client URLs, comma separated (required), e.g. http://10.0.0.5:2379,http://10.0.0.6:2379.</summary>
    public string Endpoints { get; set; } = "";

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

    /// <summary>Every problem, by configuration key (empty when valid).</summary>
    public IReadOnlyList<string> Validate(string section = "Etcd")
    {
        var errors = new List<string>();
        var endpoints = Endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
        {
            errors.Add($"{section}:Endpoints is required (comma-separated etcd client URLs, e.g. http://10.0.0.5:2379).");
        }
        foreach (var e in endpoints)
        {
            if (!Uri.TryCreate(e, UriKind.Absolute, out var u) || u.Scheme != "http" || u.Port <= 0)
            {
                errors.Add($"{section}:Endpoints: '{e}' is not an http URL with a port (TLS to etcd is not supported by this build).");
            }
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
