namespace Evacuationd.Server.Security;

/// <summary>
/// How a client certificate maps to a caller (S8). Section "Security" of the configuration.
/// Default: the role is the certificate subject's OU (fencer, agent, operator or viewer) and an
/// agent's host is the subject's CN. Operators with an existing PKI add <see cref="Roles"/>
/// rules that map a subject OU, a subject CN or a DNS subject alternative name to a role.
/// </summary>
public sealed class SecurityOptions
{
    /// <summary>
    /// Ordered rules, tried before the OU default; the first that matches gives the role.
    /// E.g. <c>Security:Roles:0:Match=CN</c>, <c>Security:Roles:0:Pattern=pcmk-*.example.com</c>,
    /// <c>Security:Roles:0:Role=fencer</c>.
    /// </summary>
    public List<RoleRule> Roles { get; set; } = [];

    /// <summary>
    /// When no rule matches, take the role from the subject's OU if it is a role name (fencer,
    /// agent, operator, viewer). Default true; set false when OUs of your PKI mean something else.
    /// </summary>
    public bool RoleFromOu { get; set; } = true;

    /// <summary>Where an agent's host name comes from: <c>CN</c> (the subject's common name, default) or <c>DNS</c> (the first DNS subject alternative name).</summary>
    public string AgentHostFrom { get; set; } = "CN";

    /// <summary>
    /// Optional DNS domain removed from an agent's certificate name before it is compared with
    /// the request's host (e.g. <c>compute.example.com</c> when certificates name
    /// <c>compute-01.compute.example.com</c> and Nova knows <c>compute-01</c>).
    /// </summary>
    public string? AgentHostDomain { get; set; }

    /// <summary>Every problem, by key (empty when valid).</summary>
    public IReadOnlyList<string> Validate(string section = "Security")
    {
        var errors = new List<string>();
        for (var i = 0; i < Roles.Count; i++)
        {
            var rule = Roles[i];
            var key = $"{section}:Roles:{i}";
            if (!RoleRule.TryParseField(rule.Match, out _))
            {
                errors.Add($"{key}:Match must be OU, CN or DNS (got '{rule.Match}').");
            }
            if (string.IsNullOrWhiteSpace(rule.Pattern))
            {
                errors.Add($"{key}:Pattern is required (the value to match, '*' matches any run of characters, e.g. 'pcmk-*.example.com').");
            }
            if (!CallerRoleNames.TryParse(rule.Role, out _))
            {
                errors.Add($"{key}:Role must be one of {string.Join(", ", CallerRoleNames.All)} (got '{rule.Role}').");
            }
        }
        if (!TryParseHostSource(AgentHostFrom, out _))
        {
            errors.Add($"{section}:AgentHostFrom must be CN or DNS (got '{AgentHostFrom}').");
        }
        if (AgentHostDomain is { Length: > 0 } domain && (domain.Trim('.').Length == 0 || domain.Contains('*', StringComparison.Ordinal) || domain.Any(char.IsWhiteSpace)))
        {
            errors.Add($"{section}:AgentHostDomain must be a DNS domain like compute.example.com (got '{domain}').");
        }
        return errors;
    }

    internal static bool TryParseHostSource(string? value, out CertificateField field)
    {
        field = CertificateField.CommonName;
        switch (value?.Trim().ToUpperInvariant())
        {
            case "CN":
                return true;
            case "DNS":
                field = CertificateField.DnsName;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>One mapping rule: a certificate field matching a pattern gives a role.</summary>
public sealed class RoleRule
{
    /// <summary><c>OU</c> (any subject organizational unit), <c>CN</c> (the subject common name) or <c>DNS</c> (any DNS subject alternative name).</summary>
    public string? Match { get; set; }

    /// <summary>Case-insensitive; <c>*</c> matches any run of characters, <c>?</c> one character.</summary>
    public string? Pattern { get; set; }

    /// <summary>fencer, agent, operator or viewer.</summary>
    public string? Role { get; set; }

    internal static bool TryParseField(string? value, out CertificateField field)
    {
        field = default;
        switch (value?.Trim().ToUpperInvariant())
        {
            case "OU":
                field = CertificateField.OrganizationalUnit;
                return true;
            case "CN":
                field = CertificateField.CommonName;
                return true;
            case "DNS":
                field = CertificateField.DnsName;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>The parts of a client certificate that roles and hosts are read from.</summary>
internal enum CertificateField
{
    OrganizationalUnit,
    CommonName,
    DnsName,
}
