using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Evacuationd.Server.Security;
using Grpc.Core;
using V1 = Evacuationd.Contracts.V1;

namespace Evacuationd.Server.Tests.Security;

/// <summary>deploy/make-certs.sh makes files the daemon loads and clients authenticate with (needs openssl; skipped without).</summary>
public sealed class MakeCertsScriptTests
{
    [Fact]
    public async Task TheScriptsCertificatesLoadAndMapToTheirRoles()
    {
        var script = FindScript();
        if (script is null || !OnPath("openssl") || !OnPath("sh"))
        {
            return; // nothing to run here: openssl is not installed
        }
        var dir = Path.Combine(Path.GetTempPath(), $"evacuationd-make-certs-{Guid.NewGuid():N}");
        try
        {
            var run = Process.Start(new ProcessStartInfo("sh", [script, "-a", "compute-01", "-a", "compute-02", dir, "evac.example.com", "10.9.8.7"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = await run.StandardOutput.ReadToEndAsync() + await run.StandardError.ReadToEndAsync();
            await run.WaitForExitAsync();
            Assert.True(run.ExitCode == 0, output);

            using var security = GrpcSecurity.FromOptions(new GrpcOptions
            {
                Listen = "https://0.0.0.0:50077",
                CertFile = Path.Combine(dir, "server.pem"),
                KeyFile = Path.Combine(dir, "server-key.pem"),
                ClientCaFile = Path.Combine(dir, "ca.pem"),
            }, new SecurityOptions());
            var names = security.Tls!.ServerCertificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            Assert.Contains("evac.example.com", names.EnumerateDnsNames());
            Assert.Contains("localhost", names.EnumerateDnsNames());
            Assert.Contains(System.Net.IPAddress.Loopback, names.EnumerateIPAddresses());
            Assert.Contains(System.Net.IPAddress.Parse("10.9.8.7"), names.EnumerateIPAddresses());

            foreach (var (file, role, host) in new[]
            {
                ("fencer", CallerRole.Fencer, (string?)null), ("operator", CallerRole.Operator, null), ("viewer", CallerRole.Viewer, null),
                ("agent-compute-01", CallerRole.Agent, "compute-01"), ("agent-compute-02", CallerRole.Agent, "compute-02"),
            })
            {
                using var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(dir, $"{file}.pem"), Path.Combine(dir, $"{file}-key.pem"));
                Assert.Null(security.ClientValidator!.Check(certificate, null));
                var caller = security.Mapper!.Map(certificate);
                Assert.Equal(role, caller.Role);
                Assert.Equal(host, caller.Host);
            }
            using var serverAsClient = X509Certificate2.CreateFromPemFile(Path.Combine(dir, "server.pem"), Path.Combine(dir, "server-key.pem"));
            Assert.NotNull(security.ClientValidator!.Check(serverAsClient, null));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task AnEndpointServesWithTheScriptsFiles()
    {
        var script = FindScript();
        if (script is null || !OnPath("openssl") || !OnPath("sh"))
        {
            return;
        }
        var dir = Path.Combine(Path.GetTempPath(), $"evacuationd-make-certs-{Guid.NewGuid():N}");
        try
        {
            using var run = Process.Start(new ProcessStartInfo("sh", [script, dir]) { RedirectStandardOutput = true })!;
            await run.StandardOutput.ReadToEndAsync();
            await run.WaitForExitAsync();
            Assert.Equal(0, run.ExitCode);

            await using var endpoint = await SecureEndpoint.StartAsync(new GrpcOptions
            {
                Listen = "https://127.0.0.1:0",
                CertFile = Path.Combine(dir, "server.pem"),
                KeyFile = Path.Combine(dir, "server-key.pem"),
                ClientCaFile = Path.Combine(dir, "ca.pem"),
            });
            using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, "ca.pem"));
            using var viewer = X509Certificate2.CreateFromPemFile(Path.Combine(dir, "viewer.pem"), Path.Combine(dir, "viewer-key.pem"));
            var channel = endpoint.Channel(viewer, ca);

            Assert.Equal(StatusCode.OK, (await SecureEndpoint.CallAsync(channel, V1.Operator.Descriptor.FindMethodByName("ListHosts"))).StatusCode);
            Assert.Equal(StatusCode.PermissionDenied, (await SecureEndpoint.CallAsync(channel, V1.Operator.Descriptor.FindMethodByName("Hold"))).StatusCode);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static string? FindScript()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "deploy", "make-certs.sh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(p => File.Exists(Path.Combine(p, tool)));
}
