namespace Evacuationd.Nova;

/// <summary>How to reach Nova. Section "Nova" of the configuration.</summary>
public sealed class NovaClientOptions
{
    /// <summary>
    /// A clouds.yaml entry to take the credentials from (OpenStack's lookup order; OS_CLOUD
    /// when empty). Values set explicitly here win over the file.
    /// </summary>
    public string? Cloud { get; set; }

    /// <summary>Keystone v3 URL, e.g. http://keystone:5000/v3. Required unless <see cref="ComputeEndpoint"/> and <see cref="Token"/> are set.</summary>
    public string? AuthUrl { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string? ProjectName { get; set; }
    public string UserDomainName { get; set; } = "Default";
    public string ProjectDomainName { get; set; } = "Default";
    /// <summary>Application credential (instead of user and password).</summary>
    public string? ApplicationCredentialId { get; set; }
    public string? ApplicationCredentialSecret { get; set; }
    /// <summary>Region of the compute endpoint in the catalog; empty = any.</summary>
    public string? RegionName { get; set; }
    /// <summary>Catalog interface: public, internal or admin. Default public.</summary>
    public string Interface { get; set; } = "public";
    /// <summary>Compute endpoint to use instead of the catalog's.</summary>
    public string? ComputeEndpoint { get; set; }
    /// <summary>A fixed token (tests, or a pre-issued token); skips Keystone.</summary>
    public string? Token { get; set; }
    /// <summary>Highest compute microversion to use; the client negotiates down to Nova's. Default 2.93.</summary>
    public string MaxMicroversion { get; set; } = "2.93";
    /// <summary>Bound of one call (all calls but evacuate). Default 30 s.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Bound of one evacuate call. Default 30 s (keep under Engine:Workflow:CallSettle).</summary>
    public TimeSpan EvacuateTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Tries of an idempotent call on a transient failure. Default 3.</summary>
    public int IdempotentTries { get; set; } = 3;
    /// <summary>
    /// How long returning a host to service retries Nova's 400 "done evacuation migrations
    /// remain" (the restarted nova-compute has not cleaned up yet). Default 5 min.
    /// </summary>
    public TimeSpan ReleaseRetryFor { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Page size for server listings. Default 500.</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>Every problem, by configuration key (empty when valid).</summary>
    public IReadOnlyList<string> Validate(string section = "Nova")
    {
        var errors = new List<string>();
        var fixedAccess = !string.IsNullOrEmpty(ComputeEndpoint) && !string.IsNullOrEmpty(Token);
        if (!fixedAccess)
        {
            if (!IsHttpUrl(AuthUrl))
            {
                errors.Add($"{section}:AuthUrl is required (Keystone v3 URL, http or https) unless {section}:ComputeEndpoint and {section}:Token are both set (got '{AuthUrl}').");
            }
            var appCred = !string.IsNullOrEmpty(ApplicationCredentialId);
            if (appCred && string.IsNullOrEmpty(ApplicationCredentialSecret))
            {
                errors.Add($"{section}:ApplicationCredentialSecret is required with {section}:ApplicationCredentialId.");
            }
            if (!appCred && (string.IsNullOrEmpty(Username) || string.IsNullOrEmpty(Password)))
            {
                errors.Add($"{section}:Username and {section}:Password are required (or {section}:ApplicationCredentialId and Secret).");
            }
            if (!appCred && string.IsNullOrEmpty(ProjectName))
            {
                errors.Add($"{section}:ProjectName is required for password authentication (evacuate needs an admin-scoped token).");
            }
        }
        if (!string.IsNullOrEmpty(ComputeEndpoint) && !IsHttpUrl(ComputeEndpoint))
        {
            errors.Add($"{section}:ComputeEndpoint must be an http or https URL (got '{ComputeEndpoint}').");
        }
        if (Interface is not ("public" or "internal" or "admin"))
        {
            errors.Add($"{section}:Interface must be public, internal or admin (got '{Interface}').");
        }
        if (!Microversion.TryParse(MaxMicroversion, out var mv) || mv < Microversion.Minimum)
        {
            errors.Add($"{section}:MaxMicroversion must be a compute microversion of at least {Microversion.Minimum} (got '{MaxMicroversion}').");
        }
        if (CallTimeout <= TimeSpan.Zero || EvacuateTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{section}:CallTimeout and {section}:EvacuateTimeout must be positive.");
        }
        if (IdempotentTries < 1)
        {
            errors.Add($"{section}:IdempotentTries must be at least 1 (got {IdempotentTries}).");
        }
        if (PageSize is < 1 or > 10000)
        {
            errors.Add($"{section}:PageSize must be between 1 and 10000 (got {PageSize}).");
        }
        return errors;
    }

    private static bool IsHttpUrl(string? s) =>
        Uri.TryCreate(s, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps);
}
