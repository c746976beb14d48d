using System.Text.RegularExpressions;
using Evacuationd.Cli.Tests.Support;

namespace Evacuationd.Cli.Tests;

public class ConnectionTests
{
    [Fact]
    public async Task NoDaemonListeningExits3NamingTheUrl()
    {
        var dead = TestDaemon.UnreachableAddress();

        var result = await CliRun.RunAsync("--server", dead, "hosts");

        Assert.Equal(ExitCodes.Unreachable, result.ExitCode);
        Assert.Contains("cannot reach any daemon", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"{dead}: Unavailable", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task EveryUrlTriedIsNamedWithItsReason()
    {
        var first = TestDaemon.UnreachableAddress();
        var second = TestDaemon.UnreachableAddress();

        var result = await CliRun.RunAsync("--server", $"{first},{second}", "list");

        Assert.Equal(ExitCodes.Unreachable, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("evacctl: list records: cannot reach any daemon; tried:", lines[0]);
        Assert.StartsWith($"  {first}: Unavailable: ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith($"  {second}: Unavailable: ", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RepeatedServerFailsOverToTheNextOne()
    {
        var fake = new FakeOperator();
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.RunAsync("--server", TestDaemon.UnreachableAddress(), "--server", daemon.Address, "hosts");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("compute-01 ", result.Lines[1], StringComparison.Ordinal);
        Assert.Equal("", result.Stderr);
        Assert.Equal(1, fake.Calls);
    }

    [Fact]
    public async Task CommaSeparatedServersFailOverForAPagedList()
    {
        var fake = new FakeOperator { PageSize = 4 };
        await using var daemon = await TestDaemon.StartAsync(fake);

        var result = await CliRun.RunAsync("--server", $"{TestDaemon.UnreachableAddress()}, {daemon.Address}", "-o", "json", "list");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(6, result.Json().GetArrayLength());
        Assert.Equal(2, fake.ListRequests.Count);
    }

    [Fact]
    public async Task ServersComeFromEVACCTLSERVERUnlessGiven()
    {
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator());
        var dead = TestDaemon.UnreachableAddress();

        var fromEnvironment = await CliRun.RunAsync(
            CliRun.Environment(variables: new Dictionary<string, string> { ["EVACCTL_SERVER"] = $"{dead},{daemon.Address}" }),
            "daemons");
        var overridden = await CliRun.RunAsync(
            CliRun.Environment(variables: new Dictionary<string, string> { ["EVACCTL_SERVER"] = daemon.Address }),
            "--server", dead, "daemons");

        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.ToString());
        Assert.StartsWith("daemon-a ", fromEnvironment.Lines[1], StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Unreachable, overridden.ExitCode);
        Assert.Contains(dead, overridden.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(daemon.Address, overridden.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADaemonThatDoesNotAnswerInTimeIsSkipped()
    {
        var hanging = new HangingOperator();
        await using var slow = await TestDaemon.StartAsync(hanging);
        await using var good = await TestDaemon.StartAsync(new FakeOperator());

        var result = await CliRun.RunAsync("--timeout", "0.3", "--server", slow.Address, "--server", good.Address, "hosts");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(1, hanging.Calls);
        Assert.Equal(3, result.Lines.Count(l => l.StartsWith("compute-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task OnlyADaemonThatDoesNotAnswerInTimeExits3WithDeadlineExceeded()
    {
        await using var slow = await TestDaemon.StartAsync(new HangingOperator());

        var result = await CliRun.RunAsync("--timeout", "0.2", "--server", slow.Address, "hosts");

        Assert.Equal(ExitCodes.Unreachable, result.ExitCode);
        Assert.Contains($"{slow.Address}: DeadlineExceeded", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnErrorAnswerIsFinalAndDoesNotFailOver()
    {
        await using var bare = await TestDaemon.StartAsync(new BareOperator());
        var fake = new FakeOperator();
        await using var good = await TestDaemon.StartAsync(fake);

        var result = await CliRun.RunAsync("--server", bare.Address, "--server", good.Address, "show", CannedData.DoneId);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("Unimplemented", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, fake.Calls);
    }

    [Fact]
    public async Task MutualTlsWithTheGivenCaAndClientCertificate()
    {
        using var pki = new TestPki("ours");
        var clients = new List<string>();
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator(), new TestTls(pki.Server, c =>
        {
            lock (clients)
            {
                clients.Add(c.Subject);
            }

            return pki.Issued(c);
        }));

        var result = await CliRun.RunAsync(
            "--server", daemon.Address, "--ca", pki.CaFile, "--cert", pki.ClientCertFile, "--key", pki.ClientKeyFile, "hosts");

        Assert.StartsWith("https://", daemon.Address, StringComparison.Ordinal);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(3, result.Lines.Count(l => l.StartsWith("compute-", StringComparison.Ordinal)));
        Assert.Contains("CN=operator", clients);
    }

    [Fact]
    public async Task AServerCertificateNotIssuedByTheGivenCaIsRefused()
    {
        using var theirs = new TestPki("theirs");
        using var ours = new TestPki("ours");
        await using var daemon = await TestDaemon.StartAsync(new FakeOperator(), new TestTls(theirs.Server, theirs.Issued));

        var result = await CliRun.RunAsync(
            "--server", daemon.Address, "--ca", ours.CaFile, "--cert", ours.ClientCertFile, "--key", ours.ClientKeyFile, "hosts");

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains($"{daemon.Address}: TLS handshake failed: ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TlsFilesWithAPlainHttpServerAreAUsageError()
    {
        using var pki = new TestPki("ours");

        var result = await CliRun.RunAsync("--server", "http://127.0.0.1:50077", "--ca", pki.CaFile, "hosts");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("http://127.0.0.1:50077 is plain http://", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreadableTlsFilesAndACertWithoutKeyAreUsageErrors()
    {
        var missing = await CliRun.RunAsync("--server", "https://127.0.0.1:1", "--ca", "/nonexistent/ca.pem", "hosts");
        var noKey = await CliRun.RunAsync("--server", "https://127.0.0.1:1", "--cert", "/tmp/c.pem", "hosts");

        Assert.Equal(ExitCodes.Usage, missing.ExitCode);
        Assert.Contains("--ca: cannot load /nonexistent/ca.pem", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, noKey.ExitCode);
        Assert.Contains("--cert and --key must be given together", noKey.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnHttp11OnlyServerCannotBeUsedAndExits3()
    {
        // Kestrel with HTTP/1.1 only answers an HTTP/2 connection with GOAWAY HTTP_1_1_REQUIRED.
        await using var web = await NotGrpcServer.Http1KestrelAsync();

        var result = await CliRun.RunAsync("--server", web.Address, "hosts");

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains("evacctl: list hosts: cannot reach any daemon; tried:", result.Stderr, StringComparison.Ordinal);
        // Mostly the GOAWAY fails the request itself; when it reaches the client before the
        // request took the connection, the client only knows the connection never worked.
        Assert.Matches(
            $@"\n  {Regex.Escape(web.Address)}: (not a gRPC server: it speaks HTTP/1.1 only \(HTTP/2 error HTTP_1_1_REQUIRED\)|no HTTP/2 connection): ",
            result.Stderr.ReplaceLineEndings("\n"));
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task AnHttp11OnlyServerFailsOverToTheNextDaemonForCallsAndWatches()
    {
        await using var web = await NotGrpcServer.Http1KestrelAsync();
        var fake = new FakeOperator();
        fake.WatchScripts.Enqueue(new WatchScript([new() { Kind = Contracts.V1.RecordEvent.Types.Kind.SnapshotEnd }]));
        await using var daemon = await TestDaemon.StartAsync(fake);

        var retry = await CliRun.RunAsync("--server", web.Address, "--server", daemon.Address, "retry", CannedData.FailedId);
        var watch = await CliRun.RunAsync("--server", $"{web.Address},{daemon.Address}", "watch");

        Assert.True(retry.ExitCode == ExitCodes.Success, retry.ToString());
        Assert.Equal("", retry.Stderr);
        Assert.Single(fake.RecordRequests);
        Assert.True(watch.ExitCode == ExitCodes.Success, watch.ToString());
        Assert.Single(fake.WatchRequests);
    }

    [Fact]
    public async Task AServerAnsweringHttp11TextExits3()
    {
        await using var web = NotGrpcServer.Http1Text();

        var result = await CliRun.RunAsync("--server", web.Address, "-o", "json", "hold");

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains($"  {web.Address}: not a gRPC server: it does not speak HTTP/2", result.Stderr, StringComparison.Ordinal);
        Assert.True(web.Connections >= 1);
    }

    [Fact]
    public async Task AnHttp2ServerWithoutGrpcExits3()
    {
        await using var web = await NotGrpcServer.Http2WithoutGrpcAsync();

        var result = await CliRun.RunAsync("--server", web.Address, "watch", "--host", "compute-01");

        Assert.True(result.ExitCode == ExitCodes.Unreachable, result.ToString());
        Assert.Contains($"  {web.Address}: not a gRPC server: Bad gRPC response. HTTP status code: 404", result.Stderr, StringComparison.Ordinal);
    }
}
