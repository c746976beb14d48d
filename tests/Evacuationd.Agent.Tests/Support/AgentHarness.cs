using System.Threading.Channels;
using Evacuationd.Agent.Work;
using Evacuationd.Cli.Tests.Support;
using Evacuationd.Testing.Time;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Evacuationd.Agent.Tests.Support;

/// <summary>What one agent run returned, wrote on stderr and logged.</summary>
internal sealed record AgentResult(int ExitCode, string Stderr, IReadOnlyList<FakeLogRecord> Logs)
{
    public string LogText => string.Join("\n", Logs.Select(l => $"{l.Level} [{l.Id.Id}] {l.Message}"));

    public override string ToString() => $"exit {ExitCode}\n--- stderr\n{Stderr}--- log\n{LogText}";
}

/// <summary>
/// One agent under test: a fake daemon (the Agent service on an in-process gRPC server), a
/// fake hypervisor, a fake clock, a captured log, all sharing one <see cref="EventLog"/>.
/// </summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    public const string Host = "compute-01";

    public static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly Channel<RoundReport> rounds = Channel.CreateUnbounded<RoundReport>();
    private TestDaemon? server;

    public AgentHarness()
    {
        Hypervisor = new FakeHypervisor(Events);
        Daemon = new FakeAgentService(Events, Clock);
    }

    public EventLog Events { get; } = new();

    public ObservableFakeTimeProvider Clock { get; } = new(Start);

    public FakeHypervisor Hypervisor { get; }

    public FakeAgentService Daemon { get; }

    public FakeLogCollector Logs { get; } = new();

    /// <summary>The fake daemon's URL (after <see cref="StartDaemonAsync"/>).</summary>
    public string Address => server?.Address ?? throw new InvalidOperationException("start the daemon first");

    public static async Task<AgentHarness> StartAsync(TestTls? tls = null)
    {
        var harness = new AgentHarness();
        await harness.StartDaemonAsync(tls);
        return harness;
    }

    public async Task StartDaemonAsync(TestTls? tls = null) => server = await TestDaemon.StartAsync(Daemon, tls);

    public AgentEnvironment Environment() => new()
    {
        Clock = Clock,
        Logging = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(Logs))),
        Hypervisor = _ => Hypervisor,
        BootTime = () => Start.AddMinutes(-3),
        RoundCompleted = r => rounds.Writer.TryWrite(r),
    };

    /// <summary>The report of the next round of <c>run</c> (10 s real-time limit).</summary>
    public async Task<RoundReport> NextRoundAsync() =>
        await rounds.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async Task<AgentResult> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        using var stderr = new StringWriter();
        var environment = Environment();
        var code = await AgentApp.RunAsync(args, TextWriter.Null, stderr, environment, cancellationToken);
        environment.Logging!.Dispose();
        return new AgentResult(code, stderr.ToString(), Logs.GetSnapshot());
    }

    /// <summary><c>gate --host compute-01 --server (the fake)</c> plus <paramref name="extra"/>.</summary>
    public Task<AgentResult> GateAsync(params string[] extra) =>
        RunAsync(["gate", "--host", Host, "--server", Address, .. extra]);

    /// <summary><c>run --host compute-01 --server (the fake)</c> plus <paramref name="extra"/>, until cancelled.</summary>
    public Task<AgentResult> RunLoopAsync(CancellationToken cancellationToken, params string[] extra) =>
        RunAsync(["run", "--host", Host, "--server", Address, .. extra], cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}
