using Evacuationd.Server.Configuration;
using Evacuationd.Server.Grpc;
using Evacuationd.Server.Security;

namespace Evacuationd.Server.Tests.Security;

/// <summary>Bad Grpc/Security configuration stops start-up with every problem named by its key.</summary>
public sealed class SecurityOptionsTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    private GrpcOptions Tls(string listen = "https://0.0.0.0:50077") => new()
    {
        Listen = listen,
        CertFile = _pki.ServerCertFile,
        KeyFile = _pki.ServerKeyFile,
        ClientCaFile = _pki.CaFile,
    };

    private static ConfigurationException Fails(GrpcOptions grpc, SecurityOptions? security = null) =>
        Assert.Throws<ConfigurationException>(() => GrpcSecurity.FromOptions(grpc, security ?? new SecurityOptions()).Dispose());

    [Theory]
    [InlineData("https://0.0.0.0:50077")]
    [InlineData("https://[::]:50077")]
    [InlineData("https://10.0.0.5:50077")]
    [InlineData("https://localhost:50077")]
    public void HttpsWithTheThreeFilesLoads(string listen)
    {
        using var security = GrpcSecurity.FromOptions(Tls(listen), new SecurityOptions());

        Assert.True(security.IsTls);
        Assert.True(security.Tls!.ServerCertificate.HasPrivateKey);
        Assert.Single(security.Tls.ClientRoots);
        Assert.False(security.Resolver.IsDevelopment);
    }

    [Fact]
    public void HttpsNeedsTheThreeFilesEachNamedByKey()
    {
        var ex = Fails(new GrpcOptions { Listen = "https://0.0.0.0:50077" });

        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:CertFile is required", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:KeyFile is required", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:ClientCaFile is required", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://0.0.0.0:50077")]
    [InlineData("http://10.0.0.5:50077")]
    [InlineData("http://[::]:50077")]
    public void PlaintextOffLoopbackIsRefused(string listen)
    {
        var ex = Fails(new GrpcOptions { Listen = listen });

        var error = Assert.Single(ex.Errors);
        Assert.StartsWith("Grpc:Listen", error, StringComparison.Ordinal);
        Assert.Contains("loopback", error, StringComparison.Ordinal);
        Assert.Throws<ConfigurationException>(() => GrpcHost.ParseListen(listen));
    }

    [Fact]
    public void PlaintextOnLoopbackIsTheDevelopmentMode()
    {
        using var security = GrpcSecurity.FromOptions(new GrpcOptions { Listen = "http://127.0.0.1:50077" }, new SecurityOptions());

        Assert.False(security.IsTls);
        Assert.True(security.Resolver.IsDevelopment);
        Assert.Equal(CallerRole.Operator, CallerIdentity.Development.Role);
    }

    [Fact]
    public void TlsFilesWithAPlaintextListenAreAnError()
    {
        var ex = Fails(Tls("http://127.0.0.1:50077"));

        var error = Assert.Single(ex.Errors);
        Assert.StartsWith("Grpc:Listen is plaintext", error, StringComparison.Ordinal);
        Assert.Contains("Grpc:CertFile", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePlaintextOnlyParserOfDevAndDemoRefusesHttps()
    {
        var ex = Assert.Throws<ConfigurationException>(() => GrpcHost.ParseListen("https://127.0.0.1:50077"));

        Assert.Contains("Grpc:ClientCaFile", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://compute.example.com:50077")]
    [InlineData("ftp://127.0.0.1:50077")]
    [InlineData("https://127.0.0.1:50077/path")]
    [InlineData("")]
    public void ABadListenUrlIsNamed(string listen)
    {
        var ex = Fails(Tls(listen));

        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:Listen", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingFilesAreNamedByKey()
    {
        var ex = Fails(new GrpcOptions
        {
            Listen = "https://0.0.0.0:50077",
            CertFile = "/nonexistent/server.pem",
            KeyFile = "/nonexistent/server-key.pem",
            ClientCaFile = "/nonexistent/ca.pem",
        });

        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:CertFile: the file '/nonexistent/server.pem' does not exist", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:KeyFile: the file '/nonexistent/server-key.pem' does not exist", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:ClientCaFile: the file '/nonexistent/ca.pem' does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void AKeyThatDoesNotMatchTheCertificateIsNamed()
    {
        using var other = _pki.Client("operator");
        var otherCert = Path.Combine(_pki.Directory, "other.pem");
        var otherKey = Path.Combine(_pki.Directory, "other-key.pem");
        TestPki.WritePem(other, otherCert, otherKey);

        var options = Tls();
        options.KeyFile = otherKey;

        var ex = Fails(options);

        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:KeyFile: cannot use", StringComparison.Ordinal));
    }

    [Fact]
    public void FilesThatAreNotPemCertificatesAreNamed()
    {
        var garbage = Path.Combine(_pki.Directory, "garbage.pem");
        File.WriteAllText(garbage, "not a certificate\n");

        var ex = Fails(new GrpcOptions { Listen = "https://0.0.0.0:50077", CertFile = garbage, KeyFile = _pki.ServerKeyFile, ClientCaFile = garbage });

        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:CertFile:", StringComparison.Ordinal) && e.Contains("no PEM certificate", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:ClientCaFile:", StringComparison.Ordinal) && e.Contains("no PEM certificate", StringComparison.Ordinal));
    }

    [Fact]
    public void AClientCertificateIsNotAClientCa()
    {
        using var leaf = _pki.Client("operator");
        var file = Path.Combine(_pki.Directory, "leaf-as-ca.pem");
        File.WriteAllText(file, leaf.ExportCertificatePem());

        var ex = Fails(new GrpcOptions { Listen = "https://0.0.0.0:50077", CertFile = _pki.ServerCertFile, KeyFile = _pki.ServerKeyFile, ClientCaFile = file });

        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:ClientCaFile:", StringComparison.Ordinal) && e.Contains("not a CA certificate", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:ClientCaFile:", StringComparison.Ordinal) && e.Contains("no self-signed root", StringComparison.Ordinal));
    }

    [Fact]
    public void AnExpiredOrClientOnlyServerCertificateIsNamed()
    {
        using var expired = _pki.Issue("CN=old-server", "1.3.6.1.5.5.7.3.1", notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        using var clientOnly = _pki.Issue("CN=client-only-server", "1.3.6.1.5.5.7.3.2");
        var errors = new List<string>();
        foreach (var (certificate, name) in new[] { (expired, "old"), (clientOnly, "client-only") })
        {
            var cert = Path.Combine(_pki.Directory, $"{name}.pem");
            var key = Path.Combine(_pki.Directory, $"{name}-key.pem");
            TestPki.WritePem(certificate, cert, key);
            errors.AddRange(Fails(new GrpcOptions { Listen = "https://0.0.0.0:50077", CertFile = cert, KeyFile = key, ClientCaFile = _pki.CaFile }).Errors);
        }

        Assert.Contains(errors, e => e.StartsWith("Grpc:CertFile:", StringComparison.Ordinal) && e.Contains("expired", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Grpc:CertFile:", StringComparison.Ordinal) && e.Contains("serverAuth", StringComparison.Ordinal));
    }

    [Fact]
    public void BadRoleRulesAreNamedByKeyTogetherWithGrpcProblems()
    {
        var security = new SecurityOptions
        {
            Roles =
            [
                new RoleRule { Match = "CN", Pattern = "ok-*", Role = "operator" },
                new RoleRule { Match = "O", Pattern = "", Role = "admin" },
            ],
            AgentHostFrom = "SAN",
            AgentHostDomain = "*.example.com",
        };

        var ex = Fails(new GrpcOptions { Listen = "https://0.0.0.0:50077", CertFile = "/nonexistent/server.pem", KeyFile = _pki.ServerKeyFile, ClientCaFile = _pki.CaFile }, security);

        Assert.Contains(ex.Errors, e => e.StartsWith("Security:Roles:1:Match must be OU, CN or DNS", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Security:Roles:1:Pattern is required", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Security:Roles:1:Role must be one of fencer, agent, operator, viewer", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Security:AgentHostFrom must be CN or DNS", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Security:AgentHostDomain", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:CertFile: the file", StringComparison.Ordinal));
        Assert.DoesNotContain(ex.Errors, e => e.StartsWith("Security:Roles:0", StringComparison.Ordinal));
    }

    [Fact]
    public void FromConfigurationReadsEverySourceAndNamesUnknownKeys()
    {
        using var security = GrpcSecurity.FromConfiguration(ConfigurationLoader.Load(
        [
            "--Grpc:Listen=https://0.0.0.0:50077", $"--Grpc:CertFile={_pki.ServerCertFile}", $"--Grpc:KeyFile={_pki.ServerKeyFile}", $"--Grpc:ClientCaFile={_pki.CaFile}",
            "--Security:Roles:0:Match=CN", "--Security:Roles:0:Pattern=pcmk-*", "--Security:Roles:0:Role=fencer", "--Security:AgentHostFrom=DNS",
        ]));
        Assert.True(security.IsTls);
        Assert.Contains("CN=pcmk-* -> fencer", security.Mapper!.Describe(), StringComparison.Ordinal);
        Assert.Contains("first DNS SAN", security.Mapper.Describe(), StringComparison.Ordinal);

        var ex = Assert.Throws<ConfigurationException>(() => GrpcSecurity.FromConfiguration(ConfigurationLoader.Load(
            ["--Grpc:Listen=https://0.0.0.0:50077", "--Grpc:CaFile=/x", "--Security:Rolez=1"])));
        Assert.Contains(ex.Errors, e => e.Contains("CaFile", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("Rolez", StringComparison.Ordinal));
        var none = Assert.Throws<ConfigurationException>(() => GrpcSecurity.FromConfiguration(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()));
        Assert.Contains(none.Errors, e => e.StartsWith("Grpc:Listen is required", StringComparison.Ordinal));
    }
}
