using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;

namespace Evacuationd.Testing.Etcd;

/// <summary>
/// One or three etcd members (m1..m3) this test run starts from the local etcd binary, on free
/// 127.0.0.1 ports (or <see cref="EtcdClusterOptions.ListenAddress"/>), in a temporary folder. Dispose kills every process it started (by PID)
/// and deletes the folder (kept when env EVACUATIOND_KEEP_ETCD=1).
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    /// <summary>Set to 1 to keep the data and log folders after dispose.</summary>
    public const string KeepVariable = "EVACUATIOND_KEEP_ETCD";

    private const int PortAttempts = 3;

    private readonly EtcdClusterOptions _options;
    private EtcdClient? _client;
    private int _disposed;

    private EtcdCluster(string baseDirectory, IReadOnlyList<EtcdMember> members, EtcdClusterOptions options, EtcdClusterTls? tls)
    {
        BaseDirectory = baseDirectory;
        Members = members;
        _options = options;
        Tls = tls;
    }

    /// <summary>The CA and client certificate of a cluster started with <see cref="EtcdClusterOptions.Tls"/>; null otherwise.</summary>
    public EtcdClusterTls? Tls { get; }

    /// <summary>The temporary folder holding one sub-folder per member.</summary>
    public string BaseDirectory { get; }

    public IReadOnlyList<EtcdMember> Members { get; }

    /// <summary>Every member's client URL, comma-separated (what EtcdClient and our options take).</summary>
    public string ClientUrls => string.Join(',', Members.Select(m => m.ClientUrl));

    /// <summary>From the first process start until every member named the same leader and a Range answered.</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>A client over all members (no retries, short reconnect backoff).</summary>
    public EtcdClient Client => _client ?? throw new InvalidOperationException("cluster not started");

    /// <summary>The member called <paramref name="name"/> (m1, m2, m3).</summary>
    public EtcdMember Member(string name) =>
        Members.FirstOrDefault(m => m.Name == name) ?? throw new ArgumentException($"no member {name}", nameof(name));

    /// <summary>
    /// Starts <paramref name="members"/> (1 or 3; any count from 1 to 9 works) members and waits
    /// until they agree on a leader and a linearizable Range answers.
    /// Throws <see cref="EtcdUnavailableException"/> when no etcd binary can be found.
    /// </summary>
    public static async Task<EtcdCluster> StartAsync(int members = 1, EtcdClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(members, 9);
        options ??= EtcdClusterOptions.Default;
        var binary = options.BinaryPath ?? EtcdEndpoints.FindBinary(new EtcdDiscoveryOptions())
            ?? throw new EtcdUnavailableException(EtcdEndpoints.UnavailableMessage(new EtcdDiscoveryOptions()));

        for (var attempt = 1; ; attempt++)
        {
            var cluster = Create(members, options, binary);
            try
            {
                await cluster.StartAllAsync(cancellationToken);
                return cluster;
            }
            catch (EtcdStartException e) when (e.PortTaken && attempt < PortAttempts)
            {
                // a port chosen free was taken before etcd bound it: try again on new ports
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>A new client over all members; the caller disposes it.</summary>
    public EtcdClient CreateClient() => EtcdTestClient.Create(ClientUrls, Tls);

    /// <summary>
    /// The member that is leader now: Maintenance Status on each running member, the one whose
    /// <c>Leader</c> equals its own member id (highest raft term wins); null when none claims it.
    /// </summary>
    public async Task<EtcdMember?> LeaderAsync(CancellationToken cancellationToken = default)
    {
        var probes = Members.Where(m => m.IsRunning).Select(async m =>
        {
            try
            {
                var st = await m.StatusAsync(cancellationToken: cancellationToken);
                return (Member: m, Status: st);
            }
            catch (Exception e) when (EtcdTestClient.IsTransient(e, cancellationToken))
            {
                return (Member: m, Status: (StatusResponse?)null);
            }
        });
        var answers = await Task.WhenAll(probes);
        return answers
            .Where(a => a.Status is not null && a.Status.Leader != 0 && a.Status.Leader == a.Status.Header.MemberId)
            .OrderByDescending(a => a.Status!.RaftTerm)
            .Select(a => a.Member)
            .FirstOrDefault();
    }

    /// <summary>Polls <see cref="LeaderAsync"/> until a member other than <paramref name="excluding"/> leads; fails after <paramref name="timeout"/>.</summary>
    public async Task<EtcdMember> WaitForLeaderAsync(TimeSpan timeout, EtcdMember? excluding = null, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var leader = await LeaderAsync(cancellationToken);
            if (leader is not null && leader != excluding)
            {
                return leader;
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"no etcd leader{(excluding is null ? "" : $" other than {excluding.Name}")} after {timeout.TotalSeconds:F1} s\n{DescribeLogs()}");
            }
            await Task.Delay(_options.ProbeInterval, cancellationToken);
        }
    }

    /// <summary>Compacts the key-value history up to <paramref name="revision"/> (physical: waits until it is removed from the backend).</summary>
    public async Task<CompactionResponse> CompactAsync(long revision, bool physical = true, CancellationToken cancellationToken = default) =>
        await Client.GetConnection().KVClient.CompactAsync(
            new CompactionRequest { Revision = revision, Physical = physical },
            deadline: EtcdTestClient.Deadline(TimeSpan.FromSeconds(10)),
            cancellationToken: cancellationToken);

    /// <summary>Restarts every member that is not running (for fixtures shared by tests that kill members), then waits for a leader.</summary>
    public async Task EnsureAllRunningAsync(CancellationToken cancellationToken = default)
    {
        var stopped = Members.Where(m => !m.IsRunning).ToList();
        foreach (var m in stopped)
        {
            m.Start("existing");
        }
        await Task.WhenAll(stopped.Select(m => m.WaitReadyAsync(waitForLeader: true, cancellationToken)));
        await WaitForLeaderAsync(_options.StartTimeout, cancellationToken: cancellationToken);
    }

    /// <summary>The last <paramref name="lines"/> log lines of every member.</summary>
    public string DescribeLogs(int lines = 40) => string.Join('\n', Members.Select(m => $"{m}\n{m.LogTail(lines)}"));

    public override string ToString() => $"etcd cluster [{string.Join(", ", Members)}] in {BaseDirectory}";

    /// <summary>Kills every process it started (by PID), disposes the clients and deletes the folder unless kept.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }
        _client?.Dispose();
        foreach (var m in Members)
        {
            m.Shutdown();
        }
        Tls?.Authority.Dispose();
        if (!_options.KeepDirectories && Environment.GetEnvironmentVariable(KeepVariable) != "1")
        {
            try
            {
                Directory.Delete(BaseDirectory, recursive: true);
            }
            catch (IOException)
            {
                // best effort: it is under the temp folder
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return ValueTask.CompletedTask;
    }

    private static EtcdCluster Create(int count, EtcdClusterOptions options, string binary)
    {
        var baseDirectory = Directory.CreateTempSubdirectory("evacuationd-etcd-").FullName;
        var token = "evacuationd-test-" + Path.GetFileName(baseDirectory);
        if (options.Tls && !options.ListenAddress.Equals(IPAddress.Loopback))
        {
            throw new ArgumentException("a TLS cluster listens on 127.0.0.1 only (its certificates name that address)", nameof(options));
        }
        var ports = FreePorts(2 * count, options.ListenAddress);
        var tls = options.Tls ? CreateTls(baseDirectory) : null;
        var members = new List<EtcdMember>();
        for (var i = 1; i <= count; i++)
        {
            var name = "m" + i.ToString(CultureInfo.InvariantCulture);
            var directory = Path.Combine(baseDirectory, name);
            var server = tls?.Authority.IssueServer(directory, "server", [IPAddress.Loopback], options.ServerDnsNames);
            members.Add(new EtcdMember(name, directory, ports[2 * i - 2], ports[2 * i - 1], token, options, binary, tls, server));
        }
        var initialCluster = string.Join(',', members.Select(m => $"{m.Name}={m.PeerUrl}"));
        foreach (var m in members)
        {
            m.InitialCluster = initialCluster;
        }
        return new EtcdCluster(baseDirectory, members, options, tls);
    }

    /// <summary>A CA for the cluster and a client certificate it signed, in <c>{base}/tls</c>.</summary>
    private static EtcdClusterTls CreateTls(string baseDirectory)
    {
        var directory = Path.Combine(baseDirectory, "tls");
        var authority = EtcdTestAuthority.Create("etcd test CA " + Path.GetFileName(baseDirectory));
        var ca = authority.WriteCertificate(Path.Combine(directory, "ca.pem"));
        var client = authority.IssueClient(directory, "client", "evacuationd-test-client");
        return new EtcdClusterTls(ca, client.CertFile, client.KeyFile, authority);
    }

    private async Task StartAllAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var m in Members)
        {
            m.Start("new");
        }
        await Task.WhenAll(Members.Select(m => m.WaitReadyAsync(waitForLeader: true, cancellationToken)));
        var leader = await WaitForLeaderAsync(_options.StartTimeout, cancellationToken: cancellationToken);
        _client = CreateClient();

        // a linearizable read goes through raft: the cluster serves requests
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                await _client.GetConnection().KVClient.RangeAsync(
                    new RangeRequest { Key = EtcdTestClient.Bytes("/evacuationd-test-ready") },
                    deadline: EtcdTestClient.Deadline(_options.ProbeDeadline),
                    cancellationToken: cancellationToken);
                break;
            }
            catch (Exception e) when (EtcdTestClient.IsTransient(e, cancellationToken) && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(_options.ProbeInterval, cancellationToken);
            }
            catch (Exception e) when (EtcdTestClient.IsTransient(e, cancellationToken))
            {
                throw new EtcdStartException(leader, $"etcd cluster did not serve a Range: {e.Message}\n{DescribeLogs()}");
            }
        }
        StartupTime = Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// <paramref name="count"/> distinct ports nobody listens on now on <paramref name="address"/>
    /// (loopback by default): bind each to port 0, read it, and close them all only once all are
    /// chosen (so none is handed out twice).
    /// </summary>
    internal static int[] FreePorts(int count, IPAddress? address = null)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(address ?? IPAddress.Loopback, 0);
                listeners.Add(listener);
                listener.Start();
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var l in listeners)
            {
                l.Stop();
            }
        }
    }
}
