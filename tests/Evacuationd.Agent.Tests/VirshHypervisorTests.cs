using Evacuationd.Agent.Adapters;
using Evacuationd.Agent.Ports;
using Evacuationd.Testing.Time;

namespace Evacuationd.Agent.Tests;

/// <summary>
/// The libvirt adapter against a stand-in <c>virsh</c> (a shell script that keeps its
/// "running" domains in a file and logs its arguments), so that the command lines, the
/// parsing, the error messages and the timeouts are checked without libvirt.
/// </summary>
public sealed class VirshHypervisorTests : IDisposable
{
    private static readonly Guid A = Guid.Parse("6f2f0a3c-1c1e-4f0e-a7a4-5b6c7d8e9f01");
    private static readonly Guid B = Guid.Parse("6f2f0a3c-1c1e-4f0e-a7a4-5b6c7d8e9f02");

    private readonly ObservableFakeTimeProvider clock = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"fake-virsh-{Guid.NewGuid():N}");
    private readonly string virsh;

    public VirshHypervisorTests()
    {
        Directory.CreateDirectory(directory);
        virsh = Path.Combine(directory, "virsh");
        File.WriteAllText(virsh, $$"""
            #!/bin/sh
            # Stand-in for virsh: domains in {{directory}}/running, arguments logged to {{directory}}/calls.
            echo "$*" >> '{{directory}}/calls'
            [ "$1" = "-c" ] && shift 2
            case "$1" in
              list)
                [ -f '{{directory}}/list-fails' ] && { echo "error: failed to connect to the hypervisor" >&2; exit 1; }
                [ -f '{{directory}}/list-hangs' ] && exec sleep 600
                cat '{{directory}}/running'; echo; exit 0 ;;
              destroy)
                grep -qx "$2" '{{directory}}/refuse' 2>/dev/null && { echo "error: Failed to destroy domain '$2'" >&2; echo "error: internal error: process exited while connecting to monitor" >&2; exit 1; }
                grep -qx "$2" '{{directory}}/running' || { echo "error: failed to get domain '$2'" >&2; echo "error: Domain not found: no domain with matching uuid '$2'" >&2; exit 1; }
                grep -vx "$2" '{{directory}}/running' > '{{directory}}/running.new'; mv '{{directory}}/running.new' '{{directory}}/running'
                echo "Domain '$2' destroyed"; exit 0 ;;
            esac
            echo "error: unknown command: '$1'" >&2; exit 1
            """);
        if (!OperatingSystem.IsWindows()) // a shell script: these tests are for Linux compute nodes
        {
            File.SetUnixFileMode(virsh, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        Running(A, B);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task ListsTheActiveDomainsByUuid()
    {
        var running = await Hypervisor("qemu:///system").ListRunningAsync(default);

        Assert.Equal(new HashSet<Guid> { A, B }, running);
        Assert.Equal(["-c qemu:///system list --uuid"], Calls());
    }

    [Fact]
    public async Task DestroysOneDomainByUuid()
    {
        var hypervisor = Hypervisor();

        var detail = await hypervisor.DestroyAsync(A, default);

        Assert.Equal("destroyed (virsh destroy)", detail);
        Assert.Equal(new HashSet<Guid> { B }, await hypervisor.ListRunningAsync(default));
        Assert.Equal([$"destroy {A}", "list --uuid"], Calls());
    }

    [Fact]
    public async Task ADomainThatIsGoneAlreadyIsNotAFailure()
    {
        var gone = Guid.NewGuid();

        var detail = await Hypervisor().DestroyAsync(gone, default);

        Assert.StartsWith("not running any more", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedDestroySaysWhatVirshSaid()
    {
        File.WriteAllText(Path.Combine(directory, "refuse"), $"{A}\n");

        var e = await Assert.ThrowsAsync<HypervisorException>(() => Hypervisor().DestroyAsync(A, default));

        Assert.Contains($"destroy {A}' failed (exit code 1): error: Failed to destroy domain '{A}' error: internal error", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedListSaysWhatVirshSaid()
    {
        File.WriteAllText(Path.Combine(directory, "list-fails"), "");

        var e = await Assert.ThrowsAsync<HypervisorException>(() => Hypervisor().ListRunningAsync(default));

        Assert.Equal($"'virsh list --uuid' failed (exit code 1): error: failed to connect to the hypervisor", e.Message);
    }

    [Fact]
    public async Task OutputThatIsNotAUuidIsAnError()
    {
        File.WriteAllText(Path.Combine(directory, "running"), "instance-00000001\n");

        var e = await Assert.ThrowsAsync<HypervisorException>(() => Hypervisor().ListRunningAsync(default));

        Assert.Contains("printed 'instance-00000001', which is not a domain UUID", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVirshThatHangsIsKilledAtItsTimeout()
    {
        File.WriteAllText(Path.Combine(directory, "list-hangs"), "");
        var listing = Hypervisor().ListRunningAsync(default);
        await clock.WaitForArmedTimersAsync(1);

        clock.Advance(TimeSpan.FromSeconds(30));

        var e = await Assert.ThrowsAsync<HypervisorException>(() => listing.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("'virsh list --uuid' did not finish within 30s (killed)", e.Message);
    }

    [Fact]
    public async Task AMissingVirshIsAClearError()
    {
        var hypervisor = new VirshHypervisor(new ProcessRunner(clock), new VirshSettings(Path.Combine(directory, "no-such-virsh"), null, TimeSpan.FromSeconds(30)));

        var e = await Assert.ThrowsAsync<HypervisorException>(() => hypervisor.ListRunningAsync(default));

        Assert.Contains("cannot run virsh", e.Message, StringComparison.Ordinal);
        Assert.Contains("install libvirt-clients", e.Message, StringComparison.Ordinal);
        Assert.Contains("--hypervisor none", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoHypervisorRunsNothing()
    {
        Assert.Empty(await new NoHypervisor().ListRunningAsync(default));
    }

    private VirshHypervisor Hypervisor(string? uri = null) =>
        new(new ProcessRunner(clock), new VirshSettings(virsh, uri, TimeSpan.FromSeconds(30)));

    private void Running(params Guid[] guests) =>
        File.WriteAllText(Path.Combine(directory, "running"), string.Join("\n", guests.Select(g => g.ToString())));

    private string[] Calls() => File.ReadAllLines(Path.Combine(directory, "calls"));
}
