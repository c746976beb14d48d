using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Server.Tests.Security;

public sealed class MutualTlsFixture : IAsyncLifetime
{
    internal TestPki Pki { get; } = new();

    internal SecureEndpoint Endpoint { get; private set; } = null!;

    public async Task InitializeAsync() => Endpoint = await SecureEndpoint.StartAsync(Pki);

    public async Task DisposeAsync()
    {
        await Endpoint.DisposeAsync();
        Pki.Dispose();
    }
}

/// <summary>
/// S8 over a real mutual-TLS endpoint: every RPC, called with a certificate of every role, is
/// allowed or PERMISSION_DENIED exactly as the brief says. "Allowed" means authorisation let it
/// through: the call may still fail for another reason (INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED).
/// </summary>
public sealed class AuthorizationMatrixTests(MutualTlsFixture fixture) : IClassFixture<MutualTlsFixture>
{
    public static TheoryData<string> Roles => ["fencer", "agent", "operator", "viewer"];

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task EveryRpcIsAllowedOrDeniedForTheRoleExactlyAsSpecified(string role)
    {
        using var certificate = fixture.Pki.Client(role, role == "agent" ? "compute-01" : null);
        var channel = fixture.Endpoint.Channel(certificate, fixture.Pki.Ca);
        var wrong = new List<string>();
        foreach (var method in AuthorizationSpec.AllMethods())
        {
            var path = AuthorizationSpec.PathOf(method);
            var expectAllowed = AuthorizationSpec.AllowedRoles[path].Contains(role);
            var status = await SecureEndpoint.CallAsync(channel, method, method.Service.Name == "Agent" ? "compute-01" : null);
            var allowed = status.StatusCode is not (StatusCode.PermissionDenied or StatusCode.Unauthenticated);
            if (allowed != expectAllowed)
            {
                wrong.Add($"{path}: expected {(expectAllowed ? "allowed" : "PERMISSION_DENIED")}, got {status.StatusCode} ({status.Detail})");
            }
            else if (!expectAllowed)
            {
                Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
                // "... needs role fencer or operator; the caller ... has role viewer"
                var at = status.Detail.IndexOf("needs role ", StringComparison.Ordinal);
                Assert.True(at >= 0, status.Detail);
                var needs = status.Detail[(at + "needs role ".Length)..].Split(';')[0];
                Assert.Equal(AuthorizationSpec.AllowedRoles[path].Order(StringComparer.Ordinal), needs.Split(" or ").SelectMany(p => p.Split(", ")).Order(StringComparer.Ordinal));
            }
            // Sanity: a call that got through did reach the service (not a transport failure).
            if (allowed)
            {
                Assert.NotEqual(StatusCode.Unavailable, status.StatusCode);
            }
        }
        Assert.True(wrong.Count == 0, $"role {role}:{Environment.NewLine}{string.Join(Environment.NewLine, wrong)}");
    }

    [Fact]
    public async Task ACertificateWithoutARoleIsDeniedEverythingButHealthAndReflection()
    {
        using var certificate = fixture.Pki.Client("accounting", "someone");
        var channel = fixture.Endpoint.Channel(certificate, fixture.Pki.Ca);
        foreach (var method in AuthorizationSpec.AllMethods())
        {
            var status = await SecureEndpoint.CallAsync(channel, method, "compute-01");
            Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
            Assert.Contains("maps to no role", status.Detail, StringComparison.Ordinal);
        }
        var health = await new global::Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var reflection = new global::Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new global::Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Contains(reflection.ResponseStream.Current.ListServicesResponse.Service, s => s.Name == "evacuationd.v1.Fencing");
        await reflection.RequestStream.CompleteAsync();
    }

    [Fact]
    public async Task AnAgentMayActOnlyForTheHostInItsCertificate()
    {
        using var certificate = fixture.Pki.Client("agent", "compute-01");
        var channel = fixture.Endpoint.Channel(certificate, fixture.Pki.Ca);
        var client = new Contracts.V1.Agent.AgentClient(channel);

        var other = await Assert.ThrowsAsync<RpcException>(() => client.CheckInAsync(new Contracts.V1.CheckInRequest { Host = "compute-02" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, other.StatusCode);
        Assert.Contains("own host", other.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("compute-02", other.Status.Detail, StringComparison.Ordinal);

        foreach (var host in new[] { "compute-01", "COMPUTE-01" })
        {
            var own = await SecureEndpoint.CallAsync(channel, Contracts.V1.Agent.Descriptor.FindMethodByName("CheckIn"), host);
            Assert.False(own.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated, $"CheckIn for {host}: {own}");
        }
        foreach (var method in Contracts.V1.Agent.Descriptor.Methods)
        {
            Assert.Equal(StatusCode.PermissionDenied, (await SecureEndpoint.CallAsync(channel, method, "compute-02")).StatusCode);
            Assert.Equal(StatusCode.PermissionDenied, (await SecureEndpoint.CallAsync(channel, method, "")).StatusCode);
        }
    }

    [Fact]
    public async Task AnOperatorMayActForAnyHost()
    {
        using var certificate = fixture.Pki.Client("operator", "alice");
        var channel = fixture.Endpoint.Channel(certificate, fixture.Pki.Ca);
        foreach (var method in Contracts.V1.Agent.Descriptor.Methods)
        {
            var status = await SecureEndpoint.CallAsync(channel, method, "compute-02");
            Assert.False(status.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated, $"{method.FullName}: {status}");
        }
    }

    [Fact]
    public async Task ADeniedCallIsLoggedWithTheCallerTheMethodAndTheReason()
    {
        using var certificate = fixture.Pki.Client("viewer", "bob-the-viewer");
        var channel = fixture.Endpoint.Channel(certificate, fixture.Pki.Ca);

        var ex = await Assert.ThrowsAsync<RpcException>(() => new Contracts.V1.Operator.OperatorClient(channel).HoldAsync(new Contracts.V1.HoldRequest { Reason = "test" }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Contains("needs role operator", ex.Status.Detail, StringComparison.Ordinal);
        var entry = Assert.Single(fixture.Endpoint.Logs.Entries, e => e.EventId.Id == 800 && e.Message.Contains("bob-the-viewer", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("/evacuationd.v1.Operator/Hold", entry.Message, StringComparison.Ordinal);
        Assert.Contains("role viewer", entry.Message, StringComparison.Ordinal);
        Assert.Contains("needs role operator", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAllowedOperatorActionIsAudited()
    {
        using var certificate = fixture.Pki.Client("operator", "carol-the-operator");
        var channel = fixture.Endpoint.Channel(certificate, fixture.Pki.Ca);

        var status = await SecureEndpoint.CallAsync(channel, Contracts.V1.Operator.Descriptor.FindMethodByName("ReleaseHost"));

        Assert.NotEqual(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains(fixture.Endpoint.Logs.Entries, e => e.EventId.Id == 802 && e.Level == LogLevel.Information
            && e.Message.Contains("carol-the-operator", StringComparison.Ordinal) && e.Message.Contains("ReleaseHost", StringComparison.Ordinal));
    }
}
