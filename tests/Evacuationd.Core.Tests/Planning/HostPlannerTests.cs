using Evacuationd.Core.Compute;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;

namespace Evacuationd.Core.Tests.Planning;

public class HostPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static readonly HostRecord Host = new()
    {
        Name = "compute-01",
        FenceGeneration = 2,
        Source = FenceSource.FenceAgent,
        Reporter = "fencer-1",
    };

    private static ServerView Vm(string uuid, string name, string host = "compute-01", string vm = "active", Dictionary<string, string>? metadata = null) => new()
    {
        Id = uuid,
        Name = name,
        Host = host,
        VmState = vm,
        Metadata = metadata ?? [],
    };

    private static PlanningOptions All() => new() { Evacuable = new EvacuableFilterOptions { Mode = EvacuableMode.All } };

    [Fact]
    public void EveryEvacuableServerOnTheHostGetsAnAcceptedRecord()
    {
        var servers = new[]
        {
            Vm("11111111-0000-4000-8000-000000000001", "web-1"),
            Vm("22222222-0000-4000-8000-000000000002", "db-1", vm: "stopped"),
            Vm("33333333-0000-4000-8000-000000000003", "broken", vm: "error"),
        };

        var records = HostPlanner.Plan(Host, servers, All(), Now, "daemon-a");

        Assert.Equal(["broken", "db-1", "web-1"], records.Select(r => r.InstanceName));
        Assert.All(records, r =>
        {
            Assert.Equal(RecordState.Accepted, r.State);
            Assert.Equal(("compute-01", 2L, Now, Now, Now), (r.SourceHost, r.FenceGeneration, r.CreatedAt, r.StateSince, r.UpdatedAt));
            Assert.Equal(0, r.Attempt);
            Assert.Equal("planned for fencing compute-01:2 reported by fence-agent (fencer-1)", r.Reason);
            var t = Assert.Single(r.History);
            Assert.Equal((Now, "", "accepted", "daemon-a"), (t.At, t.From, t.To, t.Daemon));
        });
        var web = records.Single(r => r.InstanceName == "web-1");
        Assert.Equal(("compute-01:2:11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000001"), (web.Id, web.InstanceUuid));
    }

    [Fact]
    public void ServersOnOtherHostsAreIgnoredAndHostNamesCompareCaseInsensitively()
    {
        var servers = new[]
        {
            Vm("11111111-0000-4000-8000-000000000001", "here"),
            Vm("22222222-0000-4000-8000-000000000002", "elsewhere", host: "compute-02"),
            Vm("33333333-0000-4000-8000-000000000003", "upper", host: "COMPUTE-01"),
        };

        var records = HostPlanner.Plan(Host, servers, All(), Now, "daemon-a");

        Assert.Equal(["here", "upper"], records.Select(r => r.InstanceName));
    }

    [Theory]
    [InlineData("paused")]
    [InlineData("suspended")]
    [InlineData("shelved_offloaded")]
    [InlineData("rescued")]
    public void NonEvacuableVmStatesArePlannedSkippedWithTheReason(string vm)
    {
        var r = Assert.Single(HostPlanner.Plan(Host, [Vm("11111111-0000-4000-8000-000000000001", "vm", vm: vm)], All(), Now, "daemon-a"));

        Assert.Equal(RecordState.Skipped, r.State);
        Assert.Contains($"vm_state '{vm}' cannot be evacuated", r.Reason, StringComparison.Ordinal);
        Assert.Equal(["accepted", "skipped"], r.History.Select(t => t.To));
    }

    [Fact]
    public void NotSelectedServersAreSkippedWithTheFiltersReasonFirst()
    {
        var options = new PlanningOptions { Evacuable = new EvacuableFilterOptions { Mode = EvacuableMode.Metadata, Key = "evacuable", Value = "true" } };
        var servers = new[]
        {
            Vm("11111111-0000-4000-8000-000000000001", "chosen", metadata: new() { ["evacuable"] = "true" }),
            Vm("22222222-0000-4000-8000-000000000002", "lb-appliance", vm: "paused"),
        };

        var records = HostPlanner.Plan(Host, servers, options, Now, "daemon-a");

        Assert.Equal(RecordState.Accepted, records.Single(r => r.InstanceName == "chosen").State);
        var lb = records.Single(r => r.InstanceName == "lb-appliance");
        Assert.Equal(RecordState.Skipped, lb.State);
        Assert.Equal("not selected for evacuation: server metadata 'evacuable' is not set", lb.Reason);
    }

    [Fact]
    public void HigherPriorityComesFirstThenNameThenUuid()
    {
        static Dictionary<string, string> P(string p) => new() { ["evacuation_priority"] = p };
        var servers = new[]
        {
            Vm("11111111-0000-4000-8000-000000000001", "b-low", metadata: P("1")),
            Vm("22222222-0000-4000-8000-000000000002", "a-none"),
            Vm("33333333-0000-4000-8000-000000000003", "z-high", metadata: P("10")),
            Vm("44444444-0000-4000-8000-000000000004", "c-invalid", metadata: P("high")),
            Vm("55555555-0000-4000-8000-000000000005", "d-negative", metadata: P("-3")),
            Vm("77777777-0000-4000-8000-000000000007", "same", metadata: P("5")),
            Vm("66666666-0000-4000-8000-000000000006", "same", metadata: P("5")),
        };

        var records = HostPlanner.Plan(Host, servers, All(), Now, "daemon-a");

        Assert.Equal(["z-high", "same", "same", "b-low", "a-none", "c-invalid", "d-negative"], records.Select(r => r.InstanceName));
        Assert.Equal([10, 5, 5, 1, 0, 0, -3], records.Select(r => r.Priority));
        Assert.Equal("66666666-0000-4000-8000-000000000006", records[1].InstanceUuid);
    }

    [Fact]
    public void PriorityKeyIsConfigurableAndMatchedCaseInsensitively()
    {
        var options = All();
        options.PriorityMetadataKey = "ha_rank";
        var r = Assert.Single(HostPlanner.Plan(Host, [Vm("11111111-0000-4000-8000-000000000001", "vm", metadata: new() { ["HA_Rank"] = "7", ["evacuation_priority"] = "99" })], options, Now, "d"));

        Assert.Equal(7, r.Priority);
    }

    [Fact]
    public void EmptyPriorityKeyMeansNoPriorities()
    {
        var options = All();
        options.PriorityMetadataKey = "";

        var r = Assert.Single(HostPlanner.Plan(Host, [Vm("11111111-0000-4000-8000-000000000001", "vm", metadata: new() { ["evacuation_priority"] = "9" })], options, Now, "d"));

        Assert.Equal(0, r.Priority);
    }

    [Fact]
    public void PlanningTheSameServersAgainGivesTheSameIds()
    {
        var servers = Enumerable.Range(1, 12).Select(i => Vm($"{i:x8}-0000-4000-8000-{i:000000000000}", $"vm-{i}")).ToList();

        var first = HostPlanner.Plan(Host, servers, All(), Now, "daemon-a");
        var again = HostPlanner.Plan(Host, Enumerable.Reverse(servers).ToList(), All(), Now.AddMinutes(5), "daemon-b");

        Assert.Equal(first.Select(r => r.Id), again.Select(r => r.Id));
        Assert.Equal(12, first.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public void RecordIdsCarryTheWholeUuidSoSharedPrefixesCannotCollide()
    {
        var servers = new[]
        {
            Vm("abcdef01-0000-4000-8000-000000000001", "one"),
            Vm("abcdef01-0000-4000-8000-000000000002", "two"),
            Vm("12345678-0000-4000-8000-000000000003", "three"),
        };

        var records = HostPlanner.Plan(Host, servers, All(), Now, "daemon-a");

        Assert.Equal("compute-01:2:abcdef01-0000-4000-8000-000000000001", records.Single(r => r.InstanceName == "one").Id);
        Assert.Equal("compute-01:2:abcdef01-0000-4000-8000-000000000002", records.Single(r => r.InstanceName == "two").Id);
        Assert.StartsWith("compute-01:2:12345678-", records.Single(r => r.InstanceName == "three").Id, StringComparison.Ordinal);
    }

    [Fact]
    public void ServerListedTwiceIsPlannedOnce()
    {
        var vm = Vm("11111111-0000-4000-8000-000000000001", "vm");

        Assert.Single(HostPlanner.Plan(Host, [vm, vm with { Name = "vm (page 2)" }], All(), Now, "d"));
    }

    [Fact]
    public void HostWithoutServersPlansNothing()
    {
        Assert.Empty(HostPlanner.Plan(Host, [Vm("11111111-0000-4000-8000-000000000001", "vm", host: "compute-02")], All(), Now, "d"));
    }
}

public class EvacuableFilterTests
{
    private static ServerView With(EvacuableMode mode, string key, string value) => mode switch
    {
        EvacuableMode.Metadata => new ServerView { Id = "u", Metadata = new Dictionary<string, string> { [key] = value } },
        EvacuableMode.FlavorExtraSpec => new ServerView { Id = "u", FlavorExtraSpecs = new Dictionary<string, string> { [key] = value } },
        EvacuableMode.ImageProperty => new ServerView { Id = "u", ImageProperties = new Dictionary<string, string> { [key] = value } },
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    private static EvacuableFilterOptions Filter(EvacuableMode mode, string value = "true") => new() { Mode = mode, Key = "evacuable", Value = value };

    [Fact]
    public void AllSelectsEveryServer()
    {
        Assert.Null(EvacuableFilter.WhyNotSelected(new ServerView { Id = "u" }, Filter(EvacuableMode.All)));
    }

    [Theory]
    [InlineData(EvacuableMode.Metadata, "server metadata")]
    [InlineData(EvacuableMode.FlavorExtraSpec, "flavor extra spec")]
    [InlineData(EvacuableMode.ImageProperty, "image property")]
    public void KeyWithTheRequiredValueIsSelectedIgnoringCase(EvacuableMode mode, string what)
    {
        Assert.Null(EvacuableFilter.WhyNotSelected(With(mode, "evacuable", "true"), Filter(mode)));
        Assert.Null(EvacuableFilter.WhyNotSelected(With(mode, "Evacuable", "TRUE"), Filter(mode)));
        Assert.Equal($"not selected for evacuation: {what} 'evacuable' is 'false', not 'true'",
            EvacuableFilter.WhyNotSelected(With(mode, "evacuable", "false"), Filter(mode)));
    }

    [Theory]
    [InlineData(EvacuableMode.Metadata, "server metadata")]
    [InlineData(EvacuableMode.FlavorExtraSpec, "flavor extra spec")]
    [InlineData(EvacuableMode.ImageProperty, "image property")]
    public void MissingKeyIsNotSelected(EvacuableMode mode, string what)
    {
        Assert.Equal($"not selected for evacuation: {what} 'evacuable' is not set",
            EvacuableFilter.WhyNotSelected(With(mode, "other", "true"), Filter(mode)));
    }

    [Theory]
    [InlineData(EvacuableMode.Metadata)]
    [InlineData(EvacuableMode.FlavorExtraSpec)]
    [InlineData(EvacuableMode.ImageProperty)]
    public void EmptyValueMeansTheKeyIsPresentWithAnyValue(EvacuableMode mode)
    {
        Assert.Null(EvacuableFilter.WhyNotSelected(With(mode, "evacuable", "no"), Filter(mode, value: "")));
        Assert.Null(EvacuableFilter.WhyNotSelected(With(mode, "evacuable", ""), Filter(mode, value: "")));
        Assert.NotNull(EvacuableFilter.WhyNotSelected(With(mode, "unrelated", "yes"), Filter(mode, value: "")));
    }

    [Fact]
    public void FlavorModeLooksOnlyAtTheFlavor()
    {
        var server = new ServerView { Id = "u", Metadata = new Dictionary<string, string> { ["evacuable"] = "true" } };

        Assert.NotNull(EvacuableFilter.WhyNotSelected(server, Filter(EvacuableMode.FlavorExtraSpec)));
    }

    [Fact]
    public void TagModeSelectsTaggedServersIgnoringCaseAndValue()
    {
        var filter = Filter(EvacuableMode.Tag, value: "ignored");

        Assert.Null(EvacuableFilter.WhyNotSelected(new ServerView { Id = "u", Tags = ["web", "EVACUABLE"] }, filter));
        Assert.Equal("not selected for evacuation: the server has no tag 'evacuable'",
            EvacuableFilter.WhyNotSelected(new ServerView { Id = "u", Tags = ["web"] }, filter));
    }
}
