using Grpc.Core;
using Microsoft.Extensions.Logging;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Tests.Security;

/// <summary>Plaintext on loopback: every caller is an operator, and the endpoint says so loudly.</summary>
public sealed class DevelopmentModeTests
{
    [Fact]
    public async Task EveryCallerIsAnOperatorAndTheStartSaysSo()
    {
        await using var endpoint = await SecureEndpoint.StartAsync((TestPki?)null);
        var channel = endpoint.Channel(null, null);

        Assert.Equal(Uri.UriSchemeHttp, endpoint.Address.Scheme);
        foreach (var method in AuthorizationSpec.AllMethods())
        {
            var status = await SecureEndpoint.CallAsync(channel, method, "compute-01");
            Assert.False(status.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated, $"{method.FullName}: {status}");
        }
        var warning = Assert.Single(endpoint.Logs.Entries, e => e.EventId.Id == 820);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("WITHOUT TLS", warning.Message, StringComparison.Ordinal);
        Assert.Contains("every caller is treated as role operator", warning.Message, StringComparison.Ordinal);
        Assert.Contains(endpoint.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMutualTlsEndpointLogsItsTrustAndMappingAtStart()
    {
        using var pki = new TestPki("start-log CA");
        await using var endpoint = await SecureEndpoint.StartAsync(pki);

        Assert.Equal(Uri.UriSchemeHttps, endpoint.Address.Scheme);
        var info = Assert.Single(endpoint.Logs.Entries, e => e.EventId.Id == 821);
        Assert.Contains("start-log CA", info.Message, StringComparison.Ordinal);
        Assert.Contains("OU=<role name>", info.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(endpoint.Logs.Entries, e => e.EventId.Id == 820);
    }

    [Fact]
    public async Task APlaintextClientCannotTalkToATlsEndpoint()
    {
        using var pki = new TestPki();
        await using var endpoint = await SecureEndpoint.StartAsync(pki);
        using var plain = global::Grpc.Net.Client.GrpcChannel.ForAddress(new UriBuilder(endpoint.Address) { Scheme = "http" }.Uri);

        var status = await SecureEndpoint.CallAsync(plain, V1.Operator.Descriptor.FindMethodByName("Hold"));

        Assert.NotEqual(StatusCode.OK, status.StatusCode);
        Assert.NotEqual(StatusCode.PermissionDenied, status.StatusCode);
    }
}
