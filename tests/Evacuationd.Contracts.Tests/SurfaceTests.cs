using Evacuationd.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Evacuationd.Contracts.Tests;

/// <summary>
/// The gRPC surface is what the fence agent, evacctl, the agent and operators' scripts
/// (grpcurl) are written against: these names must not drift by accident.
/// </summary>
public sealed class SurfaceTests
{
    [Theory]
    [InlineData("evacuationd.v1.Fencing", new[] { "ReportFenced", "ReportPoweredOn", "Check" })]
    [InlineData("evacuationd.v1.Operator", new[]
    {
        "FenceHost", "ListRecords", "GetRecord", "WatchRecords", "RetryRecord", "CancelRecord", "Hold", "Resume",
        "ConfirmHost", "ReleaseHost", "ListHosts", "GetHost", "ListDaemons",
    })]
    [InlineData("evacuationd.v1.Agent", new[] { "CheckIn", "ReportSelfChecks", "ReportGuard", "GetStartGate", "RequestRelease" })]
    public void EveryServiceHasExactlyItsDesignedMethods(string service, string[] methods)
    {
        var descriptor = Services().Single(s => s.FullName == service);

        Assert.Equal(methods.Order(), descriptor.Methods.Select(m => m.Name).Order());
    }

    [Fact]
    public void OnlyWatchRecordsStreams()
    {
        var streaming = Services().SelectMany(s => s.Methods).Where(m => m.IsServerStreaming || m.IsClientStreaming).Select(m => m.FullName);

        Assert.Equal(["evacuationd.v1.Operator.WatchRecords"], streaming);
    }

    [Fact]
    public void RecordStatesUseOperatorsNames()
    {
        var names = RecordsReflection.Descriptor.EnumTypes.Single(e => e.Name == "RecordState").Values.Select(v => v.Name).ToList();

        Assert.Equal(
            ["RECORD_STATE_UNSPECIFIED", "RECORD_STATE_ACCEPTED", "RECORD_STATE_EVACUATING", "RECORD_STATE_REBUILDING", "RECORD_STATE_RETRYING",
             "RECORD_STATE_DONE", "RECORD_STATE_FAILED", "RECORD_STATE_SKIPPED", "RECORD_STATE_CANCELLED"],
            names);
    }

    [Fact]
    public void AReportRoundTripsThroughJsonAsGrpcurlWouldSendIt()
    {
        var json = """{"host": "compute-01", "eventId": "e-1", "fenceGeneration": "3", "source": "FENCE_SOURCE_FENCE_AGENT", "confirmPoweredOff": true}""";

        var parsed = JsonParser.Default.Parse<ReportFencedRequest>(json);

        Assert.Equal("compute-01", parsed.Host);
        Assert.Equal("e-1", parsed.EventId);
        Assert.Equal(3UL, parsed.FenceGeneration);
        Assert.Equal(FenceSource.FenceAgent, parsed.Source);
        Assert.True(parsed.ConfirmPoweredOff);
    }

    [Fact]
    public void EveryMessageLivesInPackageEvacuationdV1()
    {
        var files = new[] { RecordsReflection.Descriptor, FencingReflection.Descriptor, OperatorReflection.Descriptor, AgentReflection.Descriptor };

        Assert.All(files, f => Assert.Equal("evacuationd.v1", f.Package));
        Assert.All(files.SelectMany(f => f.MessageTypes), m => Assert.StartsWith("evacuationd.v1.", m.FullName, StringComparison.Ordinal));
    }

    private static IEnumerable<ServiceDescriptor> Services() =>
        new[] { FencingReflection.Descriptor, OperatorReflection.Descriptor, AgentReflection.Descriptor }.SelectMany(f => f.Services);
}
