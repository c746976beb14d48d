using Evacuationd.Simulator.Model;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Simulator.Tests;

public class ModelTests
{
    [Fact]
    public void PopulatedCloudNamesHostsAndInstances()
    {
        var cloud = SimulatedCloud.CreatePopulated(new SimulatorOptions { Hosts = 3, InstancesPerHost = 4 }, new FakeTimeProvider(TestCloud.Start));
        Assert.Equal(["compute-01", "compute-02", "compute-03"], cloud.HostNames());
        var names = cloud.ListInstances().Select(i => i.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(12, names.Count);
        Assert.Equal("vm-compute-01-01", names[0]);
        Assert.Equal("vm-compute-03-04", names[^1]);

        var wide = SimulatedCloud.CreatePopulated(new SimulatorOptions { Hosts = 100, InstancesPerHost = 0 }, new FakeTimeProvider(TestCloud.Start));
        Assert.Equal("compute-001", wide.HostNames()[0]);
        Assert.Equal("compute-100", wide.HostNames()[^1]);
    }

    [Fact]
    public void SameSeedSameIds()
    {
        var a = SimulatedCloud.CreatePopulated(new SimulatorOptions { Seed = 7 }, new FakeTimeProvider(TestCloud.Start));
        var b = SimulatedCloud.CreatePopulated(new SimulatorOptions { Seed = 7 }, new FakeTimeProvider(TestCloud.Start));
        var c = SimulatedCloud.CreatePopulated(new SimulatorOptions { Seed = 8 }, new FakeTimeProvider(TestCloud.Start));
        Assert.Equal(a.ListInstances().Select(i => i.Id), b.ListInstances().Select(i => i.Id));
        Assert.NotEqual(a.ListInstances().Select(i => i.Id), c.ListInstances().Select(i => i.Id));
    }

    [Fact]
    public void InProcessEvacuationFollowsTheClock()
    {
        var time = new FakeTimeProvider(TestCloud.Start);
        var cloud = new SimulatedCloud(new SimulatorOptions { Rebuild = TimeSpan.FromSeconds(2) }, time);
        cloud.AddHost("a");
        cloud.AddHost("b");
        var vm = cloud.AddInstance("a", "vm", metadata: new Dictionary<string, string> { ["x"] = "y" });
        Assert.Equal("y", cloud.GetInstance(vm)!.Metadata["x"]);

        cloud.PowerOff("a");
        var service = cloud.GetService("a")!;
        Assert.True(cloud.UpdateService(service.Id, forcedDown: true, status: null, disabledReason: null).Ok);
        var outcome = cloud.Evacuate(vm);
        Assert.True(outcome.Ok);
        Assert.Equal("accepted", cloud.ListMigrations()[0].Status);

        time.Advance(TimeSpan.FromMilliseconds(1400));
        var snapshot = cloud.GetInstance(vm)!;
        Assert.Equal("ACTIVE", snapshot.Status);
        Assert.Equal("a", snapshot.Host);

        time.Advance(TimeSpan.FromMilliseconds(600));
        Assert.Equal("b", cloud.GetInstance(vm)!.Host);
        Assert.Equal("done", cloud.ListMigrations(new MigrationFilter(InstanceUuid: vm))[0].Status);
        Assert.Single(cloud.GetEvacuateCalls(), call => call.StatusCode == 200 && call.SourceForcedDown);

        Assert.Throws<KeyNotFoundException>(() => cloud.PowerOff("nope"));
        Assert.Throws<ArgumentException>(() => cloud.AddInstance("a", "x", imageId: "no-such-image"));
    }

    [Fact]
    public void DestinationDyingMidRebuildStallsUntilItReturns()
    {
        var time = new FakeTimeProvider(TestCloud.Start);
        var cloud = new SimulatedCloud(new SimulatorOptions { Rebuild = TimeSpan.FromSeconds(1) }, time);
        cloud.AddHost("a");
        cloud.AddHost("b");
        var vm = cloud.AddInstance("a", "vm");
        cloud.PowerOff("a");
        cloud.UpdateService(cloud.GetService("a")!.Id, true, null, null);
        Assert.True(cloud.Evacuate(vm).Ok);
        time.Advance(TimeSpan.FromMilliseconds(300));
        cloud.PowerOff("b");
        time.Advance(TimeSpan.FromSeconds(5));
        var stuck = cloud.GetInstance(vm)!;
        Assert.Equal("REBUILD", stuck.Status);
        Assert.Equal("a", stuck.Host);
        Assert.Equal("pre-migrating", cloud.ListMigrations()[0].Status);

        cloud.PowerOn("b");
        Assert.Equal("ERROR", cloud.GetInstance(vm)!.Status);
        Assert.Equal("failed", cloud.ListMigrations()[0].Status);
    }

    [Fact]
    public void MaxParallelRebuildsQueuesEvacuations()
    {
        var time = new FakeTimeProvider(TestCloud.Start);
        var cloud = new SimulatedCloud(new SimulatorOptions { Rebuild = TimeSpan.FromSeconds(1), MaxParallelRebuilds = 1 }, time);
        cloud.AddHost("a");
        cloud.AddHost("b");
        var vms = Enumerable.Range(1, 3).Select(i => cloud.AddInstance("a", $"vm{i}")).ToList();
        cloud.PowerOff("a");
        cloud.UpdateService(cloud.GetService("a")!.Id, true, null, null);
        Assert.All(vms, vm => Assert.True(cloud.Evacuate(vm).Ok));

        string Status(string vm) => cloud.ListMigrations(new MigrationFilter(InstanceUuid: vm))[0].Status;
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(["pre-migrating", "accepted", "accepted"], vms.Select(Status).ToArray());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["done", "accepted", "accepted"], vms.Select(Status).ToArray());
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(["done", "pre-migrating", "accepted"], vms.Select(Status).ToArray());
        time.Advance(TimeSpan.FromMilliseconds(1800));
        Assert.Equal(["done", "done", "done"], vms.Select(Status).ToArray());
        Assert.All(vms, vm => Assert.Equal("b", cloud.GetInstance(vm)!.Host));
    }
}
