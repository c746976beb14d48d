using Evacuationd.Server.Commands;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Grpc;

namespace Evacuationd.Server.Tests;

/// <summary>Bad configuration stops start-up with every problem named by its key.</summary>
public sealed class ConfigurationTests
{
    private static readonly string[] Good =
    [
        "--Etcd:Endpoints=http://127.0.0.1:2379,http://127.0.0.1:22379",
        "--Nova:AuthUrl=http://keystone:5000/v3", "--Nova:Username=evac", "--Nova:Password=secret", "--Nova:ProjectName=admin",
        "--Grpc:Listen=http://127.0.0.1:50077",
    ];

    [Fact]
    public void AGoodConfigurationValidates()
    {
        var settings = ServeCommand.Validate(ConfigurationLoader.Load(Good));

        Assert.Equal("http://127.0.0.1:2379,http://127.0.0.1:22379", settings.Etcd.Endpoints);
        Assert.Equal(2, settings.Etcd.EndpointUris().Count);
        Assert.False(string.IsNullOrEmpty(settings.Engine.DaemonId));
    }

    [Fact]
    public void EveryProblemIsListedByKeyAtOnce()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ServeCommand.Validate(ConfigurationLoader.Load(
        [
            "--Etcd:Endpoints=etcd-without-scheme",
            "--Nova:AuthUrl=http://keystone:5000/v3",
            "--Grpc:Listen=http://10.0.0.5:50077",
            "--Engine:LeaseTtl=00:00:04", "--Engine:KeepAliveInterval=00:00:03",
        ])));

        Assert.Contains(ex.Errors, e => e.StartsWith("Etcd:Endpoints", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Nova:Username", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Grpc:Listen", StringComparison.Ordinal) && e.Contains("loopback", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("Engine:KeepAliveInterval", StringComparison.Ordinal));
        Assert.True(ex.Errors.Count >= 4);
    }

    [Fact]
    public void AnUnknownKeyIsAnErrorNamingIt()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ServeCommand.Validate(ConfigurationLoader.Load([.. Good, "--Engine:LeaseTTLSeconds=10"])));

        Assert.Contains(ex.Errors, e => e.Contains("LeaseTTLSeconds", StringComparison.Ordinal));
    }

    [Fact]
    public void AValueOfTheWrongTypeIsAnErrorNamingTheKey()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ServeCommand.Validate(ConfigurationLoader.Load([.. Good, "--Engine:MaxConcurrentRecords=many"])));

        Assert.Contains(ex.Errors, e => e.Contains("Engine:MaxConcurrentRecords", StringComparison.Ordinal));
    }

    [Fact]
    public void ACallSettleNotLongerThanTheEvacuateTimeoutIsRefused()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ServeCommand.Validate(ConfigurationLoader.Load(
            [.. Good, "--Nova:EvacuateTimeout=00:02:00", "--Engine:Workflow:CallSettle=00:01:00"])));

        Assert.Contains(ex.Errors, e => e.StartsWith("Engine:Workflow:CallSettle", StringComparison.Ordinal) && e.Contains("Nova:EvacuateTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public void AnUnknownCloudIsNamedWithTheFilesLookedAt()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ServeCommand.Validate(ConfigurationLoader.Load(
            [Good[0], "--Nova:Cloud=no-such-cloud-here", Good[^1]])));

        Assert.Contains(ex.Errors, e => e.Contains("no-such-cloud-here", StringComparison.Ordinal));
    }

    [Fact]
    public void AMissingConfigFileIsNamed()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(["--config", "/nonexistent/evacuationd.json"]));

        Assert.Contains("/nonexistent/evacuationd.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfigFileAndTheCommandLineCombineWithTheCommandLineWinning()
    {
        var file = Path.Combine(Path.GetTempPath(), $"evacuationd-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{ "Etcd": { "Endpoints": "http://127.0.0.1:1111", "Prefix": "/from-file" } }""");
        try
        {
            var settings = ServeCommand.Validate(ConfigurationLoader.Load(["--config", file, .. Good[1..]]));

            Assert.Equal("/from-file", settings.Etcd.Prefix);
            Assert.Equal("http://127.0.0.1:1111", settings.Etcd.Endpoints);
            var overridden = ServeCommand.Validate(ConfigurationLoader.Load(["--config", file, .. Good]));
            Assert.Equal("http://127.0.0.1:2379,http://127.0.0.1:22379", overridden.Etcd.Endpoints);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void TheSampleConfigurationValidatesOnceItsFilesExist()
    {
        var repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        var sample = Path.Combine(repo, "deploy", "evacuationd.sample.json");
        using var pki = new Security.TestPki("sample CA");
        var dir = Directory.CreateTempSubdirectory("evacuationd-sample-").FullName;
        try
        {
            var (serverCert, serverKey, ca) = (pki.ServerCertFile, pki.ServerKeyFile, pki.CaFile);
            var args = new[]
            {
                "--config", sample,
                // The sample's paths, pointed at this test's files; etcd in plain http (its TLS is checked elsewhere).
                "--Etcd:Endpoints=http://10.0.0.5:2379", "--Etcd:CaFile=", "--Etcd:CertFile=", "--Etcd:KeyFile=",
                $"--Grpc:CertFile={serverCert}", $"--Grpc:KeyFile={serverKey}", $"--Grpc:ClientCaFile={ca}",
                "--Nova:Cloud=", "--Nova:AuthUrl=http://keystone.example:5000/v3", "--Nova:Username=u", "--Nova:Password=p", "--Nova:ProjectName=admin",
            };

            var settings = ServeCommand.Validate(ConfigurationLoader.Load(args));

            Assert.Equal("/evacuationd", settings.Etcd.Prefix);
            Assert.Equal(3, settings.Engine.Policy.MaxHostsInWindow);
            Assert.Equal(TimeSpan.FromDays(7), settings.Engine.Retention);
            Assert.True(settings.Metrics.Enabled);
            settings.Grpc.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:50077", true)]
    [InlineData("http://localhost:50077", true)]
    [InlineData("http://[::1]:50077", true)]
    [InlineData("http://0.0.0.0:50077", false)]
    [InlineData("http://192.168.1.10:50077", false)]
    [InlineData("https://127.0.0.1:50077", false)]
    [InlineData("not a url", false)]
    public void PlaintextGrpcIsAllowedOnLoopbackOnly(string listen, bool allowed)
    {
        if (allowed)
        {
            Assert.True(System.Net.IPAddress.IsLoopback(GrpcHost.ParseListen(listen).Address));
        }
        else
        {
            Assert.Throws<ConfigurationException>(() => GrpcHost.ParseListen(listen));
        }
    }
}
