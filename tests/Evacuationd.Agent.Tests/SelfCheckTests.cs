using Evacuationd.Agent.Adapters;
using Evacuationd.Agent.Ports;
using Evacuationd.Testing.Time;

namespace Evacuationd.Agent.Tests;

/// <summary>Self-checks as real shell commands (<c>/bin/sh -c</c>), with their timeouts on a fake clock.</summary>
public sealed class SelfCheckTests
{
    private readonly ObservableFakeTimeProvider clock = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));

    private ShellSelfCheckRunner Runner() => new(new ProcessRunner(clock));

    [Fact]
    public async Task ACommandThatExitsZeroPassesWithItsOutputTrimmed()
    {
        var result = await Runner().RunAsync(new SelfCheckSpec("ok", "printf '  all good\\n\\n'", TimeSpan.FromSeconds(10)), default);

        Assert.True(result.Ok);
        Assert.Equal(("ok", "all good"), (result.Name, result.Output));
    }

    [Fact]
    public async Task ACommandThatExitsNonZeroFailsWithItsExitCodeAndBothStreams()
    {
        var result = await Runner().RunAsync(new SelfCheckSpec("bad", "echo checked; echo 'disk full' >&2; exit 7", TimeSpan.FromSeconds(10)), default);

        Assert.False(result.Ok);
        Assert.Equal("exit code 7: checked\ndisk full", result.Output);
    }

    [Fact]
    public async Task ACommandThatOutlivesItsTimeoutIsKilledAndFails()
    {
        var pidFile = Path.Combine(Path.GetTempPath(), $"selfcheck-{Guid.NewGuid():N}.pid");
        try
        {
            var running = Runner().RunAsync(new SelfCheckSpec("slow", $"echo started; echo $$ > {pidFile}; exec sleep 600", TimeSpan.FromSeconds(10)), default);
            await clock.WaitForArmedTimersAsync(1);
            var pid = await ReadPidAsync(pidFile); // a real process: polled, with a deadline
            clock.Advance(TimeSpan.FromSeconds(9));
            Assert.False(running.IsCompleted);
            clock.Advance(TimeSpan.FromSeconds(1));
            var result = await running.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.False(result.Ok);
            Assert.StartsWith("timed out after 10s (killed)", result.Output, StringComparison.Ordinal);
            Assert.Equal(10_000u, result.DurationMs);
            Assert.True(Directory.Exists($"/proc/{pid}") is false, $"the check's process {pid} still exists");
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    [Fact]
    public async Task LongOutputIsBoundedKeepingTheEnd()
    {
        var result = await Runner().RunAsync(new SelfCheckSpec("chatty", "seq 1 100000; exit 1", TimeSpan.FromSeconds(30)), default);

        Assert.False(result.Ok);
        Assert.True(result.Output.Length <= ShellSelfCheckRunner.MaxOutputChars, $"{result.Output.Length} characters");
        Assert.StartsWith("exit code 1: …", result.Output, StringComparison.Ordinal);
        Assert.EndsWith("99999\n100000", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingShellIsAFailedCheckNotACrash()
    {
        var runner = new ShellSelfCheckRunner(new ProcessRunner(clock), shell: "/nonexistent/sh");

        var result = await runner.RunAsync(new SelfCheckSpec("x", "true", TimeSpan.FromSeconds(1)), default);

        Assert.False(result.Ok);
        Assert.Contains("cannot run '/nonexistent/sh'", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancellingKillsTheCommandAndThrows()
    {
        using var cancel = new CancellationTokenSource();
        var running = Runner().RunAsync(new SelfCheckSpec("slow", "sleep 600", TimeSpan.FromSeconds(10)), cancel.Token);
        await clock.WaitForArmedTimersAsync(1);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static async Task<int> ReadPidAsync(string file)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(file) && int.TryParse((await File.ReadAllTextAsync(file)).Trim(), out var pid))
            {
                return pid;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"the check never wrote {file}");
        return 0;
    }
}
