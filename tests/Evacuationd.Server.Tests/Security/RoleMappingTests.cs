using Evacuationd.Server.Security;

namespace Evacuationd.Server.Tests.Security;

/// <summary>Client certificate -> role and agent host (default OU/CN, and rules for existing PKIs).</summary>
public sealed class RoleMappingTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    private CallerIdentity Map(string subject, SecurityOptions? options = null, IReadOnlyList<string>? dns = null)
    {
        using var certificate = _pki.Issue(subject, "1.3.6.1.5.5.7.3.2", dnsNames: dns);
        return new CertificateIdentityMapper(options ?? new SecurityOptions()).Map(certificate);
    }

    [Theory]
    [InlineData("CN=pcmk-1, OU=fencer, O=evacuationd", "fencer")]
    [InlineData("CN=alice, OU=operator, O=evacuationd", "operator")]
    [InlineData("CN=bob, OU=Viewer, O=evacuationd", "viewer")]
    [InlineData("CN=compute-01, OU=agent, O=evacuationd", "agent")]
    [InlineData("CN=alice, OU=cloud team, OU=operator, O=evacuationd", "operator")]
    public void ByDefaultTheRoleIsTheOu(string subject, string role)
    {
        var caller = Map(subject);

        Assert.Equal(role, caller.Role?.Name());
        Assert.Contains(subject.Split(',')[0], caller.Subject, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CN=alice, O=evacuationd", "no OU naming a role")]
    [InlineData("CN=alice, OU=admins, O=evacuationd", "no OU naming a role")]
    [InlineData("CN=operator, O=evacuationd", "no OU naming a role")]
    [InlineData("CN=alice, OU=viewer, OU=operator, O=evacuationd", "several roles")]
    public void NoOrSeveralRoleOusIsNoRole(string subject, string reason)
    {
        var caller = Map(subject);

        Assert.Null(caller.Role);
        Assert.Contains(reason, caller.NoRoleReason, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAgentsHostIsItsCn()
    {
        var caller = Map("CN=compute-07, OU=agent, O=evacuationd", dns: ["other.example.com"]);

        Assert.Equal(CallerRole.Agent, caller.Role);
        Assert.Equal("compute-07", caller.Host);
    }

    [Fact]
    public void AnAgentsHostCanBeItsFirstDnsNameWithoutADomain()
    {
        var options = new SecurityOptions { AgentHostFrom = "DNS", AgentHostDomain = "nodes.example.com" };

        var caller = Map("CN=Agent on compute-07, OU=agent", options, dns: ["compute-07.nodes.example.com", "compute-07"]);
        var noDns = Map("CN=compute-08, OU=agent", options);

        Assert.Equal("compute-07", caller.Host);
        Assert.Equal(CallerRole.Agent, noDns.Role);
        Assert.Null(noDns.Host);
    }

    [Fact]
    public void RulesMapCnOuAndDnsNamesOfAnExistingPki()
    {
        var options = new SecurityOptions
        {
            Roles =
            [
                new RoleRule { Match = "CN", Pattern = "pcmk-*.example.com", Role = "fencer" },
                new RoleRule { Match = "OU", Pattern = "Cloud Operations", Role = "operator" },
                new RoleRule { Match = "DNS", Pattern = "compute-??.nodes.example.com", Role = "agent" },
                new RoleRule { Match = "OU", Pattern = "*", Role = "viewer" },
            ],
            AgentHostFrom = "DNS",
            AgentHostDomain = "nodes.example.com",
        };

        Assert.Equal(CallerRole.Fencer, Map("CN=PCMK-3.example.com, OU=Cloud Operations, O=Example", options).Role);
        Assert.Equal(CallerRole.Operator, Map("CN=alice, OU=Cloud Operations, O=Example", options).Role);
        var agent = Map("CN=host cert, OU=Servers, O=Example", options, dns: ["compute-12.nodes.example.com"]);
        Assert.Equal(CallerRole.Agent, agent.Role);
        Assert.Equal("compute-12", agent.Host);
        Assert.Equal(CallerRole.Viewer, Map("CN=bob, OU=Finance, O=Example", options).Role);
        // Rules come before the OU default: the catch-all OU rule wins over OU=operator.
        Assert.Equal(CallerRole.Viewer, Map("CN=x, OU=operator, O=Example", options).Role);
    }

    [Fact]
    public void TheOuDefaultCanBeTurnedOff()
    {
        var options = new SecurityOptions
        {
            RoleFromOu = false,
            Roles = [new RoleRule { Match = "CN", Pattern = "alice", Role = "operator" }],
        };

        Assert.Equal(CallerRole.Operator, Map("CN=alice, OU=viewer", options).Role);
        var bob = Map("CN=bob, OU=operator", options);
        Assert.Null(bob.Role);
        Assert.Contains("no Security:Roles rule", bob.NoRoleReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pcmk-*", "pcmk-1", true)]
    [InlineData("pcmk-*", "PCMK-1.example.com", true)]
    [InlineData("pcmk-*", "xpcmk-1", false)]
    [InlineData("*.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("compute-??", "compute-01", true)]
    [InlineData("compute-??", "compute-101", false)]
    [InlineData("a*b*c", "a-b-b-c", true)]
    [InlineData("a*", "a*b", true)]
    [InlineData("operator", "operators", false)]
    [InlineData("*", "", true)]
    public void PatternsAreCaseInsensitiveWildcards(string pattern, string value, bool match)
    {
        Assert.Equal(match, Glob.Matches(pattern, value));
    }
}
