using Evacuationd.Core.Compute;

namespace Evacuationd.Testing.Compute;

/// <summary>
/// What the workflow relies on from the compute port, checked against a real cloud surface:
/// run unchanged against evacsim and against a real Nova (a two-line subclass each). Every
/// expectation here is behaviour seen on real Nova (FACTS.md, "Nova").
/// </summary>
public abstract class ComputeContract : IAsyncLifetime
{
    private IComputeTestbed? _bed;

    protected IComputeTestbed Bed => _bed ?? throw new InvalidOperationException("testbed not started");

    protected abstract Task<IComputeTestbed> StartTestbedAsync();

    public async Task InitializeAsync() => _bed = await StartTestbedAsync();

    public async Task DisposeAsync()
    {
        if (_bed is not null)
        {
            await _bed.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheComputeServiceOfAHostIsFoundAndAnUnknownHostHasNone()
    {
        var host = await Bed.FreshHostWithInstancesAsync(1);
        var nova = Bed.Client();

        var service = await nova.FindComputeServiceAsync(host, CancellationToken.None);
        var none = await nova.FindComputeServiceAsync("no-such-host-" + Guid.NewGuid().ToString("N")[..6], CancellationToken.None);

        Assert.NotNull(service);
        Assert.Equal(host, service.Host);
        Assert.False(string.IsNullOrEmpty(service.Id));
        Assert.True(service.Up);
        Assert.True(service.Enabled);
        Assert.False(service.ForcedDown);
        Assert.Null(none);
    }

    [Fact]
    public async Task ForceDownAndDisableAreVisibleAndIdempotent()
    {
        var host = await Bed.FreshHostWithInstancesAsync(1);
        var nova = Bed.Client();
        var service = (await nova.FindComputeServiceAsync(host, CancellationToken.None))!;

        var forced = await nova.ForceDownAsync(service, CancellationToken.None);
        await nova.ForceDownAsync(service, CancellationToken.None);
        var disabled = await nova.DisableAsync(service, "contract test: fenced", CancellationToken.None);
        var after = (await nova.FindComputeServiceAsync(host, CancellationToken.None))!;

        // The answers to the updates show the service as it now is: the host runner plans from
        // them without reading the service again.
        Assert.Equal(service.Id, forced.Id);
        Assert.Equal(host, forced.Host);
        Assert.True(forced.ForcedDown);
        Assert.False(forced.Up);
        Assert.True(forced.Enabled);
        Assert.True(disabled.ForcedDown);
        Assert.False(disabled.Enabled);
        Assert.Equal("contract test: fenced", disabled.DisabledReason);
        Assert.True(after.ForcedDown);
        Assert.False(after.Up);
        Assert.False(after.Enabled);
        Assert.Equal("contract test: fenced", after.DisabledReason);
    }

    [Fact]
    public async Task EveryServerOfAHostIsListedAcrossPages()
    {
        var host = await Bed.FreshHostWithInstancesAsync(5);
        var paged = await Bed.Client(pageSize: 2).ListServersOnHostAsync(host, CancellationToken.None);
        var whole = await Bed.Client().ListServersOnHostAsync(host, CancellationToken.None);

        Assert.True(paged.Count >= 5, $"{paged.Count} servers listed");
        Assert.Equal(whole.Select(s => s.Id).Order(), paged.Select(s => s.Id).Order());
        Assert.Equal(paged.Count, paged.Select(s => s.Id).Distinct().Count());
        Assert.All(paged, s =>
        {
            Assert.Equal(host, s.Host);
            Assert.Equal("active", s.VmState);
            Assert.Null(s.TaskState);
            Assert.Equal("ACTIVE", s.Status);
        });
    }

    [Fact]
    public async Task AServerIsReadAndAnUnknownOneIsNull()
    {
        var host = await Bed.FreshHostWithInstancesAsync(1);
        var nova = Bed.Client();
        var listed = (await nova.ListServersOnHostAsync(host, CancellationToken.None))[0];

        var server = await nova.GetServerAsync(listed.Id, CancellationToken.None);
        var unknown = await nova.GetServerAsync(Guid.NewGuid().ToString(), CancellationToken.None);

        Assert.NotNull(server);
        Assert.Equal(listed.Id, server.Id);
        Assert.Equal(listed.Name, server.Name);
        Assert.Equal(host, server.Host);
        Assert.Null(unknown);
        Assert.Empty(await nova.ListEvacuationMigrationsAsync(listed.Id, CancellationToken.None));
    }

    [Fact]
    public async Task EvacuateIsRefusedWhileTheServiceIsUp()
    {
        var host = await Bed.FreshHostWithInstancesAsync(1);
        var nova = Bed.Client();
        var server = (await nova.ListServersOnHostAsync(host, CancellationToken.None))[0];

        var outcome = await nova.EvacuateAsync(server.Id, null, CancellationToken.None);

        Assert.Equal(EvacuateOutcomeKind.Rejected, outcome.Kind);
        Assert.Equal(400, outcome.StatusCode);
        Assert.Contains("still in use", outcome.Message, StringComparison.Ordinal);
        Assert.Empty(await nova.ListEvacuationMigrationsAsync(server.Id, CancellationToken.None));
    }

    [Fact]
    public async Task AnEvacuationOfAnUnknownServerIsRejectedWith404()
    {
        var outcome = await Bed.Client().EvacuateAsync(Guid.NewGuid().ToString(), null, CancellationToken.None);

        Assert.Equal(EvacuateOutcomeKind.Rejected, outcome.Kind);
        Assert.Equal(404, outcome.StatusCode);
        Assert.False(string.IsNullOrEmpty(outcome.Message));
    }

    [Fact]
    public async Task AfterForceDownAnEvacuationIsAcceptedAndEndsOnAnotherHostWithItsMigrationDone()
    {
        var host = await Bed.FreshHostWithInstancesAsync(1);
        var nova = Bed.Client();
        var server = (await nova.ListServersOnHostAsync(host, CancellationToken.None))[0];
        await Bed.KillComputeAsync(host);
        await nova.ForceDownAsync((await nova.FindComputeServiceAsync(host, CancellationToken.None))!, CancellationToken.None);

        var outcome = await nova.EvacuateAsync(server.Id, null, CancellationToken.None);
        var migrations = await nova.ListEvacuationMigrationsAsync(server.Id, CancellationToken.None);

        Assert.Equal(EvacuateOutcomeKind.Accepted, outcome.Kind);
        Assert.False(string.IsNullOrEmpty(outcome.RequestId));
        var migration = Assert.Single(migrations);
        Assert.Equal(host, migration.SourceCompute);
        Assert.False(migration.Failed);

        // Completion = migration done AND host changed AND no task (ACTIVE alone is not enough).
        var finished = await EventuallyAsync(async () =>
        {
            var s = await nova.GetServerAsync(server.Id, CancellationToken.None);
            var m = (await nova.ListEvacuationMigrationsAsync(server.Id, CancellationToken.None))[0];
            return m.Done && s!.TaskState is null && s.Host != host ? (s, m) : default((ServerView, MigrationView)?);
        });
        Assert.NotNull(finished);
        var (done, doneMigration) = finished.Value;
        Assert.Equal("ACTIVE", done.Status);
        Assert.Equal(done.Host, doneMigration.DestCompute);
        Assert.Equal(migration.Id, doneMigration.Id);
    }

    [Fact]
    public async Task AHostsEvacuationMigrationsNameTheirInstanceAndTheEvacuatedServerReadsAsChanged()
    {
        var host = await Bed.FreshHostWithInstancesAsync(2);
        var nova = Bed.Client();
        var servers = await nova.ListServersOnHostAsync(host, CancellationToken.None);
        await Bed.KillComputeAsync(host);
        await nova.ForceDownAsync((await nova.FindComputeServiceAsync(host, CancellationToken.None))!, CancellationToken.None);
        var before = await nova.ListEvacuationMigrationsFromHostAsync(host, CancellationToken.None);

        var outcome = await nova.EvacuateAsync(servers[0].Id, null, CancellationToken.None);
        var after = await nova.ListEvacuationMigrationsFromHostAsync(host, CancellationToken.None);
        var elsewhere = await nova.ListEvacuationMigrationsFromHostAsync("no-such-host-" + Guid.NewGuid().ToString("N")[..6], CancellationToken.None);

        Assert.Equal(EvacuateOutcomeKind.Accepted, outcome.Kind);
        var migration = Assert.Single(after, m => before.All(b => b.Id != m.Id));
        Assert.Equal(servers[0].Id, migration.InstanceUuid);
        Assert.Equal(host, migration.SourceCompute);
        Assert.Equal(after.Select(m => m.Id).OrderDescending(), after.Select(m => m.Id));
        Assert.Empty(elsewhere);

        // changes-since, on Nova's own clock (the migration's creation): the evacuated server
        // changed then (its task_state), and nothing changed a day later.
        var changed = await nova.ListServersChangedSinceAsync(migration.CreatedAt - TimeSpan.FromSeconds(2), CancellationToken.None);
        var later = await nova.ListServersChangedSinceAsync(migration.CreatedAt + TimeSpan.FromDays(1), CancellationToken.None);
        var listed = Assert.Single(changed, s => s.Id == servers[0].Id);
        Assert.NotEqual("DELETED", listed.Status);
        Assert.DoesNotContain(later, s => s.Id == servers[0].Id);
    }

    [Fact]
    public async Task AHostIsReturnedToServiceOnlyOnceItsRestartedComputeCleanedUp()
    {
        var host = await Bed.FreshHostWithInstancesAsync(1);
        var nova = Bed.Client();
        var server = (await nova.ListServersOnHostAsync(host, CancellationToken.None))[0];
        await Bed.KillComputeAsync(host);
        var service = await nova.ForceDownAsync((await nova.FindComputeServiceAsync(host, CancellationToken.None))!, CancellationToken.None);
        await nova.DisableAsync(service, "contract test", CancellationToken.None);
        await nova.EvacuateAsync(server.Id, null, CancellationToken.None);
        Assert.NotNull(await EventuallyAsync(async () =>
            (await nova.ListEvacuationMigrationsAsync(server.Id, CancellationToken.None))[0].Done ? true : default(bool?)));

        // Nova refuses forced_down=false while the `done` migration remains: the release keeps
        // trying while the host's nova-compute restarts and cleans up.
        await Bed.RestartComputeAsync(host);
        var release = nova.ReleaseServiceAsync(service, enable: true, CancellationToken.None);
        var cleaned = await EventuallyAsync(async () =>
            (await nova.ListEvacuationMigrationsAsync(server.Id, CancellationToken.None))[0].Status == "completed" ? true : default(bool?));
        var released = await release.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.NotNull(cleaned);
        Assert.False(released.ForcedDown);
        Assert.True(released.Enabled);
        var after = (await nova.FindComputeServiceAsync(host, CancellationToken.None))!;
        Assert.False(after.ForcedDown);
        Assert.True(after.Enabled);
    }

    [Fact]
    public async Task LockUnlockAndResetStateShowInTheServer()
    {
        var host = await Bed.FreshHostWithInstancesAsync(1);
        var nova = Bed.Client();
        var id = (await nova.ListServersOnHostAsync(host, CancellationToken.None))[0].Id;

        await nova.LockAsync(id, "evacuationd: being evacuated", CancellationToken.None);
        var locked = await nova.GetServerAsync(id, CancellationToken.None);
        await nova.UnlockAsync(id, CancellationToken.None);
        var unlocked = await nova.GetServerAsync(id, CancellationToken.None);
        await nova.ResetStateAsync(id, "error", CancellationToken.None);
        var reset = await nova.GetServerAsync(id, CancellationToken.None);

        Assert.True(locked!.Locked);
        Assert.False(unlocked!.Locked);
        Assert.Equal("error", reset!.VmState);
        Assert.Null(reset.TaskState);
    }

    [Fact]
    public async Task NovaErrorsCarryNovasMessageAndStatus()
    {
        var nova = Bed.Client();
        var ghost = new ComputeService(Guid.NewGuid().ToString(), "ghost", true, true, false, null);

        var ex = await Assert.ThrowsAsync<ComputeException>(() => nova.ForceDownAsync(ghost, CancellationToken.None));

        Assert.Equal(404, ex.StatusCode);
        Assert.False(ex.Transient);
        Assert.False(string.IsNullOrEmpty(ex.NovaMessage));
    }

    /// <summary>Polls the cloud until <paramref name="probe"/> returns a value, letting cloud time pass in between.</summary>
    protected async Task<T?> EventuallyAsync<T>(Func<Task<T?>> probe) where T : struct
    {
        var step = TimeSpan.FromMilliseconds(100);
        for (var spent = TimeSpan.Zero; spent <= Bed.EvacuationBudget; spent += step)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            await Bed.LetTimePassAsync(step);
        }
        return null;
    }
}
