using System.Diagnostics;
using System.Net.Sockets;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;

namespace Evacuationd.Testing.Etcd;

/// <summary>Where the etcd of a test run came from.</summary>
public enum EtcdSource
{
    /// <summary>An etcd someone else runs, named by env EVACUATIOND_TEST_ETCD; never stopped by us.</summary>
    External,

    /// <summary>A member this test run started from the local etcd binary; stopped on dispose.</summary>
    LocalProcess,
}

/// <summary>What discovery looks at; the defaults read the real environment. Tests of the discovery itself replace them.</summary>
public sealed class EtcdDiscoveryOptions
{
    /// <summary>Reads an environment variable (EVACUATIOND_TEST_ETCD, CI, PATH, DOCKER_HOST).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Where to look for etcd when it is not on PATH.</summary>
    public IReadOnlyList<string> FallbackBinaryPaths { get; init; } = ["/usr/bin/etcd"];

    /// <summary>The Docker engine socket checked when there is no etcd binary (unless DOCKER_HOST names another).</summary>
    public string DockerSocketPath { get; init; } = "/var/run/docker.sock";

    /// <summary>How long an external etcd may take to answer its first Status.</summary>
    public TimeSpan ExternalProbeTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The etcd a test talks to, found in this order: env <see cref="EnvironmentVariable"/>
/// (comma-separated client URLs of a running etcd, used as is and never stopped); else one
/// member started from the local <c>etcd</c> binary (PATH, then /usr/bin/etcd) on free loopback
/// ports; else nothing: a reachable Docker engine is reported but not used (Testcontainers is
/// not wired in). No etcd fails with <see cref="EtcdUnavailableException"/>, under CI=true and
/// elsewhere alike: tests never skip silently.
/// </summary>
public sealed class EtcdEndpoints : IAsyncDisposable
{
    /// <summary>Comma-separated client URLs of an etcd to use instead of starting one.</summary>
    public const string EnvironmentVariable = "EVACUATIOND_TEST_ETCD";

    private EtcdEndpoints(string clientUrls, EtcdSource source, EtcdCluster? cluster, TimeSpan startupTime)
    {
        ClientUrls = clientUrls;
        Source = source;
        Cluster = cluster;
        StartupTime = startupTime;
    }

    /// <summary>Comma-separated client URLs.</summary>
    public string ClientUrls { get; }

    public EtcdSource Source { get; }

    /// <summary>The member(s) started for this run; null for an external etcd.</summary>
    public EtcdCluster? Cluster { get; }

    /// <summary>Until the first RPC answered (and for a started member, a leader was elected).</summary>
    public TimeSpan StartupTime { get; }

    /// <summary>A new client on <see cref="ClientUrls"/> (no retries); the caller disposes it.</summary>
    public EtcdClient CreateClient() => EtcdTestClient.Create(ClientUrls, Cluster?.Tls);

    /// <summary>Finds an etcd (see the class summary); one member when started here.</summary>
    public static async Task<EtcdEndpoints> AcquireAsync(
        EtcdClusterOptions? options = null,
        EtcdDiscoveryOptions? discovery = null,
        CancellationToken cancellationToken = default)
    {
        discovery ??= new EtcdDiscoveryOptions();
        options ??= EtcdClusterOptions.Default;

        var external = discovery.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(external) && !options.Tls) // TLS needs a member started with our certificates
        {
            var urls = NormalizeUrls(external);
            var took = await ProbeExternalAsync(urls, discovery.ExternalProbeTimeout, cancellationToken);
            return new EtcdEndpoints(urls, EtcdSource.External, null, took);
        }

        var binary = options.BinaryPath ?? FindBinary(discovery)
            ?? throw new EtcdUnavailableException(UnavailableMessage(discovery));
        var cluster = await EtcdCluster.StartAsync(1, options with { BinaryPath = binary }, cancellationToken);
        return new EtcdEndpoints(cluster.ClientUrls, EtcdSource.LocalProcess, cluster, cluster.StartupTime);
    }

    /// <summary>The etcd binary: the first executable <c>etcd</c> on PATH, else the first fallback that exists; null when none.</summary>
    public static string? FindBinary(EtcdDiscoveryOptions? discovery = null)
    {
        discovery ??= new EtcdDiscoveryOptions();
        var path = discovery.GetEnvironmentVariable("PATH") ?? "";
        var candidates = path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(dir => Path.Combine(dir, "etcd"))
            .Concat(discovery.FallbackBinaryPaths);
        return candidates.FirstOrDefault(IsExecutable);

        static bool IsExecutable(string file) =>
            !OperatingSystem.IsWindows() && File.Exists(file) && (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }

    /// <summary>A Docker engine answers a connect on its socket (DOCKER_HOST unix:// or tcp://, else <see cref="EtcdDiscoveryOptions.DockerSocketPath"/>).</summary>
    public static bool IsDockerReachable(EtcdDiscoveryOptions? discovery = null)
    {
        discovery ??= new EtcdDiscoveryOptions();
        var host = discovery.GetEnvironmentVariable("DOCKER_HOST");
        try
        {
            if (!string.IsNullOrEmpty(host) && Uri.TryCreate(host, UriKind.Absolute, out var uri) && uri.Scheme == "tcp")
            {
                using var tcp = new TcpClient();
                return tcp.ConnectAsync(uri.Host, uri.Port).Wait(TimeSpan.FromSeconds(1)) && tcp.Connected;
            }
            var socketPath = !string.IsNullOrEmpty(host) && host.StartsWith("unix://", StringComparison.Ordinal)
                ? host["unix://".Length..]
                : discovery.DockerSocketPath;
            if (!File.Exists(socketPath))
            {
                return false;
            }
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (AggregateException)
        {
            return false;
        }
    }

    /// <summary>The failure message when no etcd can be had, with what was looked at.</summary>
    public static string UnavailableMessage(EtcdDiscoveryOptions? discovery = null)
    {
        discovery ??= new EtcdDiscoveryOptions();
        var ci = string.Equals(discovery.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        var head = ci
            ? $"etcd is required under CI=true: install etcd-server (scripts/test.sh does) or set {EnvironmentVariable}"
            : $"etcd is required: install etcd-server (scripts/test.sh does) or set {EnvironmentVariable}";
        var docker = IsDockerReachable(discovery)
            ? "a Docker engine is reachable, but the container path (Testcontainers) is not wired into these tests"
            : "no Docker engine is reachable either";
        return $"{head}. Looked for: {EnvironmentVariable} (unset), `etcd` on PATH and at {string.Join(", ", discovery.FallbackBinaryPaths)} (not found); {docker}.";
    }

    /// <summary>Stops the member it started; an external etcd is left alone.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }

    private static string NormalizeUrls(string value)
    {
        var urls = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => u.Contains("://", StringComparison.Ordinal) ? u : "http://" + u)
            .ToList();
        foreach (var u in urls)
        {
            if (!Uri.TryCreate(u, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                throw new EtcdUnavailableException($"{EnvironmentVariable}={value}: '{u}' is not an http(s) client URL");
            }
        }
        return string.Join(',', urls);
    }

    private static async Task<TimeSpan> ProbeExternalAsync(string urls, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = EtcdTestClient.Create(urls);
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                await client.GetConnection().MaintenanceClient.StatusAsync(
                    new StatusRequest(), deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(1)), cancellationToken: cancellationToken);
                return Stopwatch.GetElapsedTime(started);
            }
            catch (Exception e) when (EtcdTestClient.IsTransient(e, cancellationToken) && Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new EtcdUnavailableException(
                    $"{EnvironmentVariable}={urls} does not answer Maintenance Status within {timeout.TotalSeconds:F1} s: {e.Message}", e);
            }
            catch (Exception e) when (EtcdTestClient.IsTransient(e, cancellationToken))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
        }
    }
}

/// <summary>No etcd can be had for the tests (see <see cref="EtcdEndpoints"/>).</summary>
public sealed class EtcdUnavailableException : Exception
{
    public EtcdUnavailableException()
    {
    }

    public EtcdUnavailableException(string message)
        : base(message)
    {
    }

    public EtcdUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
