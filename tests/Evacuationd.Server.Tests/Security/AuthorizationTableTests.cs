using Evacuationd.Server.Security;

namespace Evacuationd.Server.Tests.Security;

/// <summary>The table is complete, says what the brief says, and fails closed.</summary>
public sealed class AuthorizationTableTests
{
    [Fact]
    public void EveryMethodOfTheThreeServicesIsInTheTable()
    {
        var missing = AuthorizationSpec.AllMethods().Select(AuthorizationSpec.PathOf).Where(p => !AuthorizationTable.Rules.ContainsKey(p)).ToList();

        Assert.True(missing.Count == 0, "not in the authorization table (they would be denied to everyone): " + string.Join(", ", missing));
        Assert.Equal(AuthorizationTable.GuardedServices.SelectMany(s => s.Methods).Select(AuthorizationTable.PathOf).Order(), AuthorizationTable.Rules.Keys.Order());
    }

    [Fact]
    public void TheTableGivesExactlyTheRolesOfTheBrief()
    {
        Assert.Equal(AuthorizationSpec.AllowedRoles.Keys.Order(), AuthorizationTable.Rules.Keys.Order());
        foreach (var (path, rule) in AuthorizationTable.Rules)
        {
            var roles = Enum.GetValues<CallerRole>().Where(r => rule.Allowed.Contains(r)).Select(r => r.Name()).Order();
            Assert.Equal(AuthorizationSpec.AllowedRoles[path].Order(), roles);
        }
    }

    [Fact]
    public void OperatorMayCallEverything()
    {
        Assert.All(AuthorizationTable.Rules.Values, r => Assert.True(r.Allowed.Contains(CallerRole.Operator), r.Method));
    }

    [Theory]
    [InlineData("/evacuationd.v1.Operator/DropDatabase")]
    [InlineData("/evacuationd.v2.Operator/Hold")]
    [InlineData("/evacuationd.v1.Operator/hold")]
    [InlineData("")]
    public void AMethodMissingFromTheTableIsDeniedEvenToAnOperator(string method)
    {
        var reason = AuthorizationInterceptorProbe.Decide(method, new CallerIdentity("CN=op", CallerRole.Operator, null));

        Assert.NotNull(reason);
        Assert.Contains("fail closed", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/grpc.health.v1.Health/Check", true)]
    [InlineData("/grpc.health.v1.Health/Watch", true)]
    [InlineData("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", true)]
    [InlineData("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", true)]
    [InlineData("/evacuationd.v1.Operator/ListHosts", false)]
    [InlineData("/grpc.health.v1.HealthX/Check", false)]
    [InlineData("grpc.health.v1.Health/Check", false)]
    public void OnlyHealthAndReflectionAreOpen(string method, bool open)
    {
        Assert.Equal(open, AuthorizationTable.IsOpen(method));
    }

    [Fact]
    public void AnAgentWithoutAHostInItsCertificateMayDoNothing()
    {
        var reason = AuthorizationInterceptorProbe.Decide("/evacuationd.v1.Agent/CheckIn", new CallerIdentity("CN=", CallerRole.Agent, null),
            new Contracts.V1.CheckInRequest { Host = "" });

        Assert.NotNull(reason);
        Assert.Contains("names no host", reason, StringComparison.Ordinal);
    }

    /// <summary>The interceptor's pure decision.</summary>
    private static class AuthorizationInterceptorProbe
    {
        public static string? Decide(string method, CallerIdentity caller, object? request = null) =>
            AuthorizationInterceptor.Decide(method, caller, request);
    }
}
