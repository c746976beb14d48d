using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Security;

/// <summary>One method's rule.</summary>
/// <param name="Method">The gRPC method path, e.g. <c>/evacuationd.v1.Fencing/ReportFenced</c>.</param>
/// <param name="Allowed">Who may call it. An agent may call it only for the host its certificate names (the request's <c>host</c> field).</param>
/// <param name="Audit">A state-changing call by a person or the fencer: logged at Information when allowed.</param>
internal sealed record MethodRule(string Method, CallerRoles Allowed, bool Audit);

/// <summary>
/// S8: which role may call which RPC, in one place. A method missing here is denied (fail
/// closed); a test checks that every method of Fencing, Operator and Agent is listed. The
/// health and reflection services are open to every caller that got through TLS.
/// </summary>
internal static class AuthorizationTable
{
    private const CallerRoles Fencing = CallerRoles.Fencer | CallerRoles.Operator;
    private const CallerRoles Read = CallerRoles.Viewer | CallerRoles.Operator;
    private const CallerRoles Write = CallerRoles.Operator;
    private const CallerRoles Agent = CallerRoles.Agent | CallerRoles.Operator;

    /// <summary>Services every authenticated caller may use (health probes, grpcurl's reflection).</summary>
    public static readonly IReadOnlySet<string> OpenServices = new HashSet<string>(StringComparer.Ordinal)
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    };

    /// <summary>The rules of the evacuationd.v1 services, by method path.</summary>
    public static readonly IReadOnlyDictionary<string, MethodRule> Rules = Build(
        (V1.Fencing.Descriptor, "ReportFenced", Fencing, true),
        (V1.Fencing.Descriptor, "ReportPoweredOn", Fencing, true),
        (V1.Fencing.Descriptor, "Check", Fencing, false),

        (V1.Operator.Descriptor, "ListRecords", Read, false),
        (V1.Operator.Descriptor, "GetRecord", Read, false),
        (V1.Operator.Descriptor, "WatchRecords", Read, false),
        (V1.Operator.Descriptor, "ListHosts", Read, false),
        (V1.Operator.Descriptor, "GetHost", Read, false),
        (V1.Operator.Descriptor, "ListDaemons", Read, false),
        (V1.Operator.Descriptor, "FenceHost", Write, true),
        (V1.Operator.Descriptor, "RetryRecord", Write, true),
        (V1.Operator.Descriptor, "CancelRecord", Write, true),
        (V1.Operator.Descriptor, "Hold", Write, true),
        (V1.Operator.Descriptor, "Resume", Write, true),
        (V1.Operator.Descriptor, "ConfirmHost", Write, true),
        (V1.Operator.Descriptor, "ReleaseHost", Write, true),

        (V1.Agent.Descriptor, "CheckIn", Agent, false),
        (V1.Agent.Descriptor, "ReportSelfChecks", Agent, false),
        (V1.Agent.Descriptor, "ReportGuard", Agent, false),
        (V1.Agent.Descriptor, "GetStartGate", Agent, false),
        (V1.Agent.Descriptor, "RequestRelease", Agent, true));

    /// <summary>The services whose every method must be in <see cref="Rules"/>.</summary>
    public static IReadOnlyList<ServiceDescriptor> GuardedServices { get; } = [V1.Fencing.Descriptor, V1.Operator.Descriptor, V1.Agent.Descriptor];

    public static string PathOf(MethodDescriptor method) => $"/{method.Service.FullName}/{method.Name}";

    /// <summary>"/grpc.health.v1.Health/Check" -> true.</summary>
    public static bool IsOpen(string method)
    {
        var slash = method.IndexOf('/', 1);
        return method.Length > 1 && method[0] == '/' && slash > 1 && OpenServices.Contains(method[1..slash]);
    }

    private static Dictionary<string, MethodRule> Build(params (ServiceDescriptor Service, string Method, CallerRoles Allowed, bool Audit)[] entries)
    {
        var rules = new Dictionary<string, MethodRule>(StringComparer.Ordinal);
        foreach (var (service, name, allowed, audit) in entries)
        {
            // A typo here must not silently leave the real method unlisted.
            var method = service.FindMethodByName(name)
                ?? throw new InvalidOperationException($"authorization table: {service.FullName} has no method {name}");
            if (allowed.HasFlag(CallerRoles.Agent) && method.InputType.FindFieldByName("host") is not { FieldType: FieldType.String })
            {
                throw new InvalidOperationException($"authorization table: {PathOf(method)} allows agents but its request has no string 'host' field to check against the certificate");
            }
            rules.Add(PathOf(method), new MethodRule(PathOf(method), allowed, audit));
        }
        return rules;
    }
}
