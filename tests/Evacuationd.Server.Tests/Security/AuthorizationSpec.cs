using Google.Protobuf.Reflection;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Tests.Security;

/// <summary>S8 as written in the product brief: who may call what. The tests hold the server to it.</summary>
internal static class AuthorizationSpec
{
    public static readonly IReadOnlyDictionary<string, string[]> AllowedRoles = new Dictionary<string, string[]>
    {
        ["/evacuationd.v1.Fencing/ReportFenced"] = ["fencer", "operator"],
        ["/evacuationd.v1.Fencing/ReportPoweredOn"] = ["fencer", "operator"],
        ["/evacuationd.v1.Fencing/Check"] = ["fencer", "operator"],

        ["/evacuationd.v1.Operator/ListRecords"] = ["viewer", "operator"],
        ["/evacuationd.v1.Operator/GetRecord"] = ["viewer", "operator"],
        ["/evacuationd.v1.Operator/WatchRecords"] = ["viewer", "operator"],
        ["/evacuationd.v1.Operator/ListHosts"] = ["viewer", "operator"],
        ["/evacuationd.v1.Operator/GetHost"] = ["viewer", "operator"],
        ["/evacuationd.v1.Operator/ListDaemons"] = ["viewer", "operator"],
        ["/evacuationd.v1.Operator/FenceHost"] = ["operator"],
        ["/evacuationd.v1.Operator/RetryRecord"] = ["operator"],
        ["/evacuationd.v1.Operator/CancelRecord"] = ["operator"],
        ["/evacuationd.v1.Operator/Hold"] = ["operator"],
        ["/evacuationd.v1.Operator/Resume"] = ["operator"],
        ["/evacuationd.v1.Operator/ConfirmHost"] = ["operator"],
        ["/evacuationd.v1.Operator/ReleaseHost"] = ["operator"],

        ["/evacuationd.v1.Agent/CheckIn"] = ["agent", "operator"],
        ["/evacuationd.v1.Agent/ReportSelfChecks"] = ["agent", "operator"],
        ["/evacuationd.v1.Agent/ReportGuard"] = ["agent", "operator"],
        ["/evacuationd.v1.Agent/GetStartGate"] = ["agent", "operator"],
        ["/evacuationd.v1.Agent/RequestRelease"] = ["agent", "operator"],
    };

    /// <summary>Every method of the three evacuationd.v1 services, from the compiled protos.</summary>
    public static IEnumerable<MethodDescriptor> AllMethods() =>
        new[] { V1.Fencing.Descriptor, V1.Operator.Descriptor, V1.Agent.Descriptor }.SelectMany(s => s.Methods);

    public static string PathOf(MethodDescriptor m) => $"/{m.Service.FullName}/{m.Name}";
}
