using System.Net.Sockets;
using System.Text;
using Evacuationd.Server.Commands;
using Evacuationd.Server.Configuration;
using Evacuationd.Server.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Serilog.Events;
using Serilog.Parsing;

namespace Evacuationd.Server.Tests.Hosting;

/// <summary>What serve tells systemd (Type=notify), its journald lines, and check-config.</summary>
public sealed class ServiceHostingTests
{
    [Fact]
    public void ReadyStatusAndStoppingReachTheNotifySocket()
    {
        var dir = Directory.CreateTempSubdirectory("evacuationd-notify-").FullName;
        var path = Path.Combine(dir, "notify");
        var before = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.ReceiveTimeout = 5000;
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", path);
            var notify = new ServiceNotifications(new SystemdNotifier());
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", before);

            Assert.True(notify.Enabled);
            notify.Ready("serving gRPC on https://127.0.0.1:50443;\njoining etcd");
            notify.Status("daemon d1 holds its lease");
            notify.Stopping();

            string Receive()
            {
                var buffer = new byte[4096];
                var n = socket.Receive(buffer);
                return Encoding.UTF8.GetString(buffer, 0, n);
            }
            Assert.Equal("READY=1\nSTATUS=serving gRPC on https://127.0.0.1:50443; joining etcd", Receive());
            Assert.Equal("STATUS=daemon d1 holds its lease", Receive());
            Assert.Equal("STOPPING=1\nSTATUS=stopping", Receive());
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", before);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WithoutANotifySocketNothingIsSent()
    {
        var notify = new ServiceNotifications(new FakeNotifier(enabled: false));

        notify.Ready("x");

        Assert.False(notify.Enabled);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-pair")]
    [InlineData("8:1")] // a real pair, but stdout here is not that socket
    public void JournalLinesOnlyWhenStdoutIsTheJournalStream(string? journalStream)
    {
        Assert.False(Logging.IsJournal(journalStream, 1));
    }

    [Theory]
    [InlineData(LogEventLevel.Error, "<3>")]
    [InlineData(LogEventLevel.Warning, "<4>")]
    [InlineData(LogEventLevel.Information, "<6>")]
    [InlineData(LogEventLevel.Debug, "<7>")]
    public void JournalLinesCarryTheLevelAsPriority(LogEventLevel level, string prefix)
    {
        var e = new LogEvent(DateTimeOffset.UnixEpoch, level, null, new MessageTemplateParser().Parse("m"), []);

        new Logging.JournalPriority().Enrich(e, null!);

        Assert.Equal(prefix, ((ScalarValue)e.Properties[Logging.JournalPriority.Property]).Value);
    }

    [Fact]
    public void CheckConfigAcceptsTheSampleOnceItsFilesExist()
    {
        using var pki = new Security.TestPki("check-config CA");
        var output = new StringWriter();

        var code = CheckConfigCommand.Run(SampleArgs(pki), output);

        Assert.Equal(0, code);
        var text = output.ToString();
        Assert.Contains("configuration OK", text, StringComparison.Ordinal);
        Assert.Contains("https://0.0.0.0:50443, mutual TLS", text, StringComparison.Ordinal);
        Assert.Contains("http://0.0.0.0:9464", text, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckConfigNamesTheBadKey()
    {
        using var pki = new Security.TestPki("check-config CA");

        var ex = Assert.Throws<ConfigurationException>(() => CheckConfigCommand.Run([.. SampleArgs(pki), "--Engine:LeaseTtl=soon"], TextWriter.Null));

        Assert.Contains(ex.Errors, e => e.Contains("LeaseTtl", StringComparison.Ordinal));
    }

    private static string[] SampleArgs(Security.TestPki pki)
    {
        var repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        return
        [
            "--config", Path.Combine(repo, "deploy", "evacuationd.sample.json"),
            "--Etcd:Endpoints=http://10.0.0.5:2379", "--Etcd:CaFile=", "--Etcd:CertFile=", "--Etcd:KeyFile=",
            $"--Grpc:CertFile={pki.ServerCertFile}", $"--Grpc:KeyFile={pki.ServerKeyFile}", $"--Grpc:ClientCaFile={pki.CaFile}",
            "--Nova:Cloud=", "--Nova:AuthUrl=http://keystone.example:5000/v3", "--Nova:Username=u", "--Nova:Password=p", "--Nova:ProjectName=admin",
        ];
    }

    private sealed class FakeNotifier(bool enabled) : ISystemdNotifier
    {
        public bool IsEnabled => enabled;

        public void Notify(ServiceState state) => throw new InvalidOperationException("not enabled: nothing may be sent");
    }
}
