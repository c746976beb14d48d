using System.Net;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Metrics;

namespace Evacuationd.Server.Tests.Metrics;

/// <summary>Metrics:Listen: empty disables the endpoint; anything else must be a plain http URL with an address and a port.</summary>
public sealed class MetricsOptionsTests
{
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void EmptyMeansNoEndpoint(string listen)
    {
        var options = new MetricsOptions { Listen = listen };

        Assert.False(options.Enabled);
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("http://127.0.0.1:9464", "127.0.0.1", 9464, "/metrics")]
    [InlineData("http://127.0.0.1:9464/", "127.0.0.1", 9464, "/metrics")]
    [InlineData("http://0.0.0.0:9464/metrics", "0.0.0.0", 9464, "/metrics")]
    [InlineData("http://localhost:0/prom/", "127.0.0.1", 0, "/prom")]
    [InlineData("http://[::1]:9464", "::1", 9464, "/metrics")]
    [InlineData("http://10.0.0.5:80", "10.0.0.5", 80, "/metrics")]
    public void AGoodUrlGivesTheEndpointAndPath(string listen, string address, int port, string path)
    {
        var options = new MetricsOptions { Listen = listen };

        Assert.True(options.Enabled);
        Assert.Empty(options.Validate());
        Assert.Equal((new IPEndPoint(IPAddress.Parse(address), port), path), MetricsOptions.Parse(listen));
    }

    [Theory]
    [InlineData("127.0.0.1:9464", "must be a URL")]
    [InlineData("https://127.0.0.1:9464", "https")]
    [InlineData("http://127.0.0.1", "must name a port")]
    [InlineData("http://prometheus.example:9464", "IP address")]
    [InlineData("http://127.0.0.1:9464/metrics?x=1", "optionally a path")]
    public void ABadUrlIsOneErrorNamingTheKey(string listen, string why)
    {
        var error = Assert.Single(new MetricsOptions { Listen = listen }.Validate());

        Assert.StartsWith("Metrics:Listen", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
        Assert.Contains(why, Assert.Throws<ConfigurationException>(() => MetricsOptions.Parse(listen)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSectionNameIsTheCallers()
    {
        var error = Assert.Single(new MetricsOptions { Listen = "nonsense" }.Validate("Dev:Metrics"));

        Assert.StartsWith("Dev:Metrics:Listen", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSectionBindsFromConfiguration()
    {
        var configuration = ConfigurationLoader.Load(["--Metrics:Listen=http://127.0.0.1:9464"]);

        var options = ConfigurationLoader.Bind<MetricsOptions>(configuration, "Metrics");

        Assert.Equal("http://127.0.0.1:9464", options.Listen);
        Assert.False(ConfigurationLoader.Bind<MetricsOptions>(ConfigurationLoader.Load([]), "Metrics").Enabled);
    }
}
