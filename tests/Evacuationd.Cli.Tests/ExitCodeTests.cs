using Evacuationd.Cli.Tests.Support;
using Grpc.Core;

namespace Evacuationd.Cli.Tests;

/// <summary>
/// Exit codes of every command: 0 success, 1 any error status a daemon answers, 2 usage,
/// 3 no daemon reachable.
/// </summary>
public class ExitCodeTests
{
    /// <summary>Every command once, with what it calls itself on stderr.</summary>
    public static readonly TheoryData<string, string> Commands = new()
    {
        { "fence compute-01 --confirm-powered-off", "fence compute-01" },
        { "hosts", "list hosts" },
        { "list --host compute-01", "list records" },
        { "show compute-01:1:aaaa0001", "show compute-01:1:aaaa0001" },
        { "watch", "watch" },
        { "watch --host compute-01", "watch compute-01" },
        { "daemons", "list daemons" },
        { "retry compute-01:1:bbbb0002", "retry compute-01:1:bbbb0002" },
        { "cancel compute-01:1:cccc0003", "cancel compute-01:1:cccc0003" },
        { "hold --reason maintenance", "hold" },
        { "resume", "resume" },
        { "confirm compute-04", "confirm compute-04" },
        { "release-host compute-03", "release host compute-03" },
    };

    public static readonly TheoryData<string, string> CommandsWithoutWhat = new()
    {
        { "fence compute-01 --confirm-powered-off", "" },
        { "hosts", "" },
        { "list", "" },
        { "show compute-01:1:aaaa0001", "" },
        { "watch", "" },
        { "daemons", "" },
        { "retry compute-01:1:bbbb0002", "" },
        { "cancel compute-01:1:cccc0003", "" },
        { "hold", "" },
        { "resume", "" },
        { "confirm compute-04", "" },
        { "release-host compute-03", "" },
    };

    private static readonly (StatusCode Code, string Message)[] Denials =
    [
        (StatusCode.PermissionDenied, "caller 'CN=ro-bot' has role viewer; this call needs operator"),
        (StatusCode.Unauthenticated, "a client certificate signed by the daemon's client CA (Grpc:ClientCaFile) is required"),
        (StatusCode.FailedPrecondition, "not allowed in the current state"),
        (StatusCode.NotFound, "no such thing"),
        (StatusCode.InvalidArgument, "host name 'x y' is not valid"),
        (StatusCode.Internal, "internal error in the daemon"),
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task EveryCommandSucceedsWithExit0AgainstAHealthyDaemon(string command, string what)
    {
        _ = what;
        foreach (var format in new[] { "table", "json" })
        {
            // A fresh daemon per format: a second confirm or release would be refused.
            await using var daemon = await TestDaemon.StartAsync(Fresh(command));

            var result = await CliRun.AgainstAsync(daemon, ["-o", format, .. command.Split(' ')]);

            Assert.True(result.ExitCode == ExitCodes.Success, $"{format}: {result}");
            Assert.Equal("", result.Stderr);
            Assert.NotEqual("", result.Stdout);
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task EveryErrorStatusADaemonAnswersExits1WithItsMessage(string command, string what)
    {
        foreach (var (code, message) in Denials)
        {
            var answering = new StatusOperator(new Status(code, message));
            await using var daemon = await TestDaemon.StartAsync(answering);

            var result = await CliRun.AgainstAsync(daemon, command.Split(' '));

            Assert.True(result.ExitCode == ExitCodes.Failed, $"{code}: {result}");
            Assert.Equal($"evacctl: {what}: {code}: {message}", result.Stderr.Trim());
            Assert.Equal("", result.Stdout);
            Assert.Equal(1, answering.Calls);
        }
    }

    [Theory]
    [MemberData(nameof(CommandsWithoutWhat))]
    public async Task EveryCommandExits3WhenNoDaemonCanBeReached(string command, string unused)
    {
        _ = unused;
        var dead = TestDaemon.UnreachableAddress();

        var result = await CliRun.RunAsync(["--server", dead, .. command.Split(' ')]);

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains("cannot reach any daemon", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"  {dead}: Unavailable", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(CommandsWithoutWhat))]
    public async Task EveryCommandExits2OnABadOptionWithoutCallingAnyDaemon(string command, string unused)
    {
        _ = unused;
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.AgainstAsync(daemon, [.. command.Split(' '), "--no-such-option"]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--no-such-option", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, fake.Calls);
    }

    [Theory]
    [InlineData("fence compute-01 --confirm-powered-off", "fence compute-01")]
    [InlineData("retry compute-01:1:bbbb0002", "retry compute-01:1:bbbb0002")]
    [InlineData("hosts", "list hosts")]
    [InlineData("watch", "watch")]
    public async Task ADaemonAnsweringUnavailableItselfIsTheOperationsFailureNotUnreachable(string command, string what)
    {
        // What a daemon answers when its store or Nova did not confirm: worth another daemon,
        // but when none does better, the operation failed (1); the daemons were reachable.
        var storeDown = new StatusOperator(new Status(StatusCode.Unavailable, "the store did not confirm: etcd timed out"));
        await using var daemon = await TestDaemon.StartAsync(storeDown);
        var dead = TestDaemon.UnreachableAddress();

        var result = await CliRun.RunAsync(["--server", dead, "--server", daemon.Address, .. command.Split(' ')]);

        Assert.True(result.ExitCode == ExitCodes.Failed, result.ToString());
        Assert.Equal($"evacctl: {what}: Unavailable: the store did not confirm: etcd timed out", result.Stderr.Trim());
        Assert.Equal(1, storeDown.Calls);
    }

    [Fact]
    public async Task ADaemonAnsweringUnavailableItselfFailsOverToTheNextDaemon()
    {
        var storeDown = new StatusOperator(new Status(StatusCode.Unavailable, "the store did not confirm: etcd timed out"));
        await using var first = await TestDaemon.StartAsync(storeDown);
        var fake = new FakeOperator();
        await using var second = await TestDaemon.StartAsync(fake);

        var result = await CliRun.RunAsync("--server", first.Address, "--server", second.Address, "fence", "compute-05", "--confirm-powered-off");

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Equal(1, storeDown.Calls);
        Assert.Single(fake.FenceRequests);
    }

    [Fact]
    public async Task AStaleFenceExits1()
    {
        await using var daemon = await TestDaemon.StartAsync(new StaleFencing());

        var result = await CliRun.AgainstAsync(daemon, "fence", "compute-01", "--confirm-powered-off");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Matches(@"^Outcome:\s+stale$", result.Lines[2]);
    }

    /// <summary>A fake whose watch (if the command is one) ends at once after an empty snapshot.</summary>
    private static FakeOperator Fresh(string command)
    {
        var fake = new FakeOperator();
        if (command.StartsWith("watch", StringComparison.Ordinal))
        {
            fake.WatchScripts.Enqueue(new WatchScript([new() { Kind = Contracts.V1.RecordEvent.Types.Kind.SnapshotEnd }]));
        }

        return fake;
    }

    private sealed class StaleFencing : Contracts.V1.Operator.OperatorBase
    {
        public override Task<Contracts.V1.ReportFencedResponse> FenceHost(Contracts.V1.FenceHostRequest request, ServerCallContext context) =>
            Task.FromResult(new Contracts.V1.ReportFencedResponse
            {
                EvacuationId = "compute-01:3",
                FenceGeneration = 3,
                Outcome = Contracts.V1.FenceOutcome.Stale,
                Message = "the report is older than the host's last release: ignored",
            });
    }
}
