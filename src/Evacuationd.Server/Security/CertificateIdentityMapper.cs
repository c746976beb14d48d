using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Evacuationd.Server.Security;

/// <summary>
/// Maps a client certificate (already validated against Grpc:ClientCaFile) to a caller: role
/// from the <see cref="SecurityOptions.Roles"/> rules, else from the subject's OU; an agent's
/// host from its CN or first DNS subject alternative name.
/// </summary>
internal sealed class CertificateIdentityMapper
{
    private const string OuOid = "2.5.4.11";
    private const string CnOid = "2.5.4.3";
    private const string SanOid = "2.5.29.17";

    private readonly IReadOnlyList<(CertificateField Field, string Pattern, CallerRole Role)> _rules;
    private readonly bool _roleFromOu;
    private readonly CertificateField _hostFrom;
    private readonly string? _hostDomainSuffix;

    /// <summary>Throws <see cref="Configuration.ConfigurationException"/> for invalid options.</summary>
    public CertificateIdentityMapper(SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new Configuration.ConfigurationException(errors);
        }
        _rules = options.Roles.Select(r =>
            RoleRule.TryParseField(r.Match, out var field) && CallerRoleNames.TryParse(r.Role, out var role)
                ? (field, r.Pattern!.Trim(), role)
                : throw new InvalidOperationException("validated above")).ToList();
        _roleFromOu = options.RoleFromOu;
        _hostFrom = SecurityOptions.TryParseHostSource(options.AgentHostFrom, out var hostFrom) ? hostFrom : throw new InvalidOperationException("validated above");
        _hostDomainSuffix = options.AgentHostDomain is { Length: > 0 } d ? "." + d.Trim('.') : null;
    }

    /// <summary>What the mapping is, for the start-up log.</summary>
    public string Describe()
    {
        var parts = _rules.Select(r => $"{FieldName(r.Field)}={r.Pattern} -> {r.Role.Name()}").ToList();
        if (_roleFromOu)
        {
            parts.Add("OU=<role name> -> that role");
        }
        var host = _hostFrom == CertificateField.CommonName ? "CN" : "first DNS SAN";
        return $"roles: {(parts.Count == 0 ? "none (every caller is denied)" : string.Join("; ", parts))}; agent host from {host}{(_hostDomainSuffix is null ? "" : $" without {_hostDomainSuffix}")}";
    }

    public CallerIdentity Map(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var subject = $"{(certificate.Subject.Length > 0 ? certificate.Subject : "(empty subject)")} serial {certificate.SerialNumber}";
        var fields = CertificateFields.Read(certificate);

        CallerRole? role = null;
        string? reason = null;
        foreach (var (field, pattern, ruleRole) in _rules)
        {
            if (fields.Values(field).Any(v => Glob.Matches(pattern, v)))
            {
                role = ruleRole;
                break;
            }
        }
        if (role is null && _roleFromOu)
        {
            var named = fields.OrganizationalUnits
                .Select(ou => CallerRoleNames.TryParse(ou, out var r) ? r : (CallerRole?)null)
                .OfType<CallerRole>()
                .Distinct()
                .ToList();
            if (named.Count == 1)
            {
                role = named[0];
            }
            else if (named.Count > 1)
            {
                reason = $"its subject names several roles ({string.Join(", ", named.Select(r => "OU=" + r.Name()))}); a certificate must carry exactly one";
            }
        }
        if (role is null)
        {
            reason ??= _rules.Count == 0 && _roleFromOu
                ? $"its subject has no OU naming a role ({string.Join(", ", CallerRoleNames.All)})"
                : "no Security:Roles rule matches it" + (_roleFromOu ? $" and its subject has no OU naming a role ({string.Join(", ", CallerRoleNames.All)})" : "");
            return new CallerIdentity(subject, null, null, reason);
        }

        string? host = null;
        if (role == CallerRole.Agent)
        {
            host = (_hostFrom == CertificateField.CommonName ? fields.CommonNames : fields.DnsNames).FirstOrDefault(h => h.Length > 0);
            if (host is not null && _hostDomainSuffix is not null && host.Length > _hostDomainSuffix.Length
                && host.EndsWith(_hostDomainSuffix, StringComparison.OrdinalIgnoreCase))
            {
                host = host[..^_hostDomainSuffix.Length];
            }
        }
        return new CallerIdentity(subject, role, host);
    }

    private static string FieldName(CertificateField field) => field switch
    {
        CertificateField.OrganizationalUnit => "OU",
        CertificateField.CommonName => "CN",
        _ => "DNS",
    };

    /// <summary>The subject's OUs and CNs and the DNS subject alternative names of a certificate.</summary>
    internal sealed record CertificateFields(IReadOnlyList<string> OrganizationalUnits, IReadOnlyList<string> CommonNames, IReadOnlyList<string> DnsNames)
    {
        public IReadOnlyList<string> Values(CertificateField field) => field switch
        {
            CertificateField.OrganizationalUnit => OrganizationalUnits,
            CertificateField.CommonName => CommonNames,
            _ => DnsNames,
        };

        public static CertificateFields Read(X509Certificate2 certificate)
        {
            var ous = new List<string>();
            var cns = new List<string>();
            try
            {
                foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
                {
                    // A multi-valued RDN (rare, and a classic confusion trick) is not read.
                    if (rdn.HasMultipleElements)
                    {
                        continue;
                    }
                    var value = rdn.GetSingleElementValue();
                    if (value is null)
                    {
                        continue;
                    }
                    switch (rdn.GetSingleElementType().Value)
                    {
                        case OuOid:
                            ous.Add(value.Trim());
                            break;
                        case CnOid:
                            cns.Add(value.Trim());
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or AsnContentException)
            {
                // An unreadable subject names nothing.
            }

            var dns = new List<string>();
            foreach (var extension in certificate.Extensions)
            {
                if (extension.Oid?.Value != SanOid)
                {
                    continue;
                }
                try
                {
                    var san = extension as X509SubjectAlternativeNameExtension ?? new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);
                    dns.AddRange(san.EnumerateDnsNames());
                }
                catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or AsnContentException)
                {
                    // An unreadable SAN names nothing.
                }
            }
            return new CertificateFields(ous, cns, dns);
        }
    }
}

/// <summary>Case-insensitive wildcard match: <c>*</c> any run of characters, <c>?</c> exactly one.</summary>
internal static class Glob
{
    public static bool Matches(string pattern, string value)
    {
        int p = 0, v = 0, star = -1, mark = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = v;
            }
            else if (p < pattern.Length && (pattern[p] == '?' || char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(value[v])))
            {
                p++;
                v++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
