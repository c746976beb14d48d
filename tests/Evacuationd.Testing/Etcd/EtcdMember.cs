using System.Diagnostics;
using System.Globalization;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;

namespace Evacuationd.Testing.Etcd;

/// <summary>
/// One etcd process this test run started, on ports chosen free at creation (127.0.0.1 unless
/// <see cref="EtcdClusterOptions.ListenAddress"/> says otherwise),
/// with its data, its log (<c>etcd.log</c>) and its stdout/stderr files in <see cref="Directory"/>.
/// Created and owned by <see cref="EtcdCluster"/>.
/// </summary>
public sealed class EtcdMember
{
    private readonly EtcdClusterOptions _options;
    private readonly string _binary;
    private readonly List<EtcdClient> _clients = [];
    private readonly object _gate = new();
    private Process? _process;
    private EtcdClient? _client;
    private long _startedAt;

    private readonly EtcdClusterTls? _tls;

    internal EtcdMember(string name, string directory, int clientPort, int peerPort, string clusterToken, EtcdClusterOptions options, string binary, EtcdClusterTls? tls = null, EtcdTestCertificateFiles? serverCertificate = null)
    {
        _tls = tls;
        ServerCertificate = serverCertificate;
        Name = name;
        Directory = directory;
        ClientPort = clientPort;
        PeerPort = peerPort;
        ClusterToken = clusterToken;
        _options = options;
        _binary = binary;
        InitialCluster = $"{name}={PeerUrl}";
    }

    /// <summary>Member name (m1, m2, m3).</summary>
    public string Name { get; }

    /// <summary>This member's folder: <c>data/</c>, <c>etcd.log</c>, <c>stdout</c>, <c>stderr</c>.</summary>
    public string Directory { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public string LogPath => Path.Combine(Directory, "etcd.log");

    public string StdoutPath => Path.Combine(Directory, "stdout");

    public string StderrPath => Path.Combine(Directory, "stderr");

    public int ClientPort { get; }

    public int PeerPort { get; }

    /// <summary>https with <see cref="EtcdClusterOptions.Tls"/>, else http.</summary>
    public string ClientUrl => $"{(_tls is null ? "http" : "https")}://{_options.ListenAddress}:{ClientPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>This member's server certificate and key (with <see cref="EtcdClusterOptions.Tls"/>), in its folder.</summary>
    public EtcdTestCertificateFiles? ServerCertificate { get; }

    public string PeerUrl => $"http://{_options.ListenAddress}:{PeerPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>PID of the current (or last) etcd process of this member; 0 before the first start.</summary>
    public int Pid { get; private set; }

    /// <summary>The process started last is still running.</summary>
    public bool IsRunning
    {
        get
        {
            var p = _process;
            return p is not null && !p.HasExited;
        }
    }

    /// <summary>Raft member id, read from Maintenance Status once the member answered (0 before).</summary>
    public ulong MemberId { get; private set; }

    /// <summary>Processes started for this member so far (1 after the first start).</summary>
    public int Starts { get; private set; }

    /// <summary>From process start to the first Status answer naming a leader, for the last start.</summary>
    public TimeSpan LastStartDuration { get; private set; }

    /// <summary>From process start to the first Status answer (leader or not), for the last start.</summary>
    public TimeSpan LastFirstAnswer { get; private set; }

    /// <summary>
    /// A client on this member only, without retries. Replaced by a fresh one (short reconnect
    /// backoff) on every start; earlier ones stay usable until the cluster is disposed.
    /// </summary>
    public EtcdClient Client => _client ?? throw new InvalidOperationException($"etcd member {Name} was never started");

    internal string ClusterToken { get; }

    internal string InitialCluster { get; set; }

    /// <summary>Maintenance Status of this member (answers without consensus).</summary>
    public async Task<StatusResponse> StatusAsync(TimeSpan? deadline = null, CancellationToken cancellationToken = default) =>
        await Client.GetConnection().MaintenanceClient.StatusAsync(
            new StatusRequest(),
            deadline: EtcdTestClient.Deadline(deadline ?? _options.ProbeDeadline),
            cancellationToken: cancellationToken);

    /// <summary>SIGKILL by PID (only the process this member started), then reap it.</summary>
    public void Kill()
    {
        var p = _process;
        if (p is null)
        {
            return;
        }
        StartedProcesses.Kill(p);
        p.WaitForExit(10_000);
        if (p.HasExited)
        {
            StartedProcesses.Forget(p);
        }
    }

    /// <summary>SIGTERM, then wait for the exit; SIGKILL when it has not exited after <paramref name="timeout"/> (10 s).</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        var p = _process;
        if (p is null || p.HasExited)
        {
            return;
        }
        StartedProcesses.Terminate(p);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            return;
        }
        StartedProcesses.Forget(p);
    }

    /// <summary>
    /// Starts the member again on the same data, ports and flags (<c>--initial-cluster-state existing</c>)
    /// and waits until it answers Status; with <paramref name="waitForLeader"/> also until it knows a leader
    /// (needs a quorum of the cluster running).
    /// </summary>
    public async Task RestartAsync(bool waitForLeader = true, CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"etcd member {Name} (pid {Pid}) is still running: Kill() or StopAsync() it first");
        }
        Start("existing");
        await WaitReadyAsync(waitForLeader, cancellationToken);
    }

    /// <summary>The last <paramref name="lines"/> lines of etcd.log and of stderr, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        return $"--- {Name} {LogPath} (last {lines} lines)\n{Tail(LogPath, lines)}\n--- {Name} {StderrPath}\n{Tail(StderrPath, lines)}";

        static string Tail(string path, int n)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
                return string.Join('\n', all.TakeLast(n));
            }
            catch (IOException e)
            {
                return $"({e.Message})";
            }
            catch (UnauthorizedAccessException e)
            {
                return $"({e.Message})";
            }
        }
    }

    public override string ToString() => $"{Name} pid={Pid} client={ClientUrl} peer={PeerUrl} id={MemberId:x}";

    internal void Start(string clusterState)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var psi = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        // sh replaces itself with etcd (same PID) after pointing stdin/stdout/stderr at files:
        // no pipes to the test host, and the PID we record is etcd's.
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$EVACUATIOND_ETCD_STDOUT\" 2>>\"$EVACUATIOND_ETCD_STDERR\"");
        psi.ArgumentList.Add(_binary);
        foreach (var a in Arguments(clusterState))
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("ETCD", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key); // etcd reads ETCD_* variables as flags
        }
        psi.Environment["EVACUATIOND_ETCD_STDOUT"] = StdoutPath;
        psi.Environment["EVACUATIOND_ETCD_STDERR"] = StderrPath;

        lock (_gate)
        {
            if (_process is { } old)
            {
                StartedProcesses.Forget(old);
                old.Dispose();
                _process = null;
            }
            var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {_binary}");
            _startedAt = Stopwatch.GetTimestamp();
            StartedProcesses.Add(p);
            _process = p;
            Pid = p.Id;
            Starts++;
            _client = EtcdTestClient.Create(ClientUrl, _tls);
            _clients.Add(_client);
        }
    }

    internal IReadOnlyList<string> Arguments(string clusterState)
    {
        var args = new List<string>
        {
            "--name", Name,
            "--data-dir", DataDirectory,
            "--logger=zap",
            $"--log-outputs={LogPath}",
            "--listen-client-urls", ClientUrl,
            "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", PeerUrl,
            "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", InitialCluster,
            "--initial-cluster-state", clusterState,
            "--initial-cluster-token", ClusterToken,
        };
        if (_tls is not null && ServerCertificate is not null)
        {
            args.AddRange(["--cert-file", ServerCertificate.CertFile, "--key-file", ServerCertificate.KeyFile, "--trusted-ca-file", _tls.CaFile]);
            if (_options.ClientCertAuth)
            {
                args.Add("--client-cert-auth");
            }
        }
        if (_options.UnsafeNoFsync)
        {
            args.Add("--unsafe-no-fsync");
        }
        if (_options.HeartbeatInterval is { } hb)
        {
            args.Add($"--heartbeat-interval={((long)hb.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}");
        }
        if (_options.ElectionTimeout is { } et)
        {
            args.Add($"--election-timeout={((long)et.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}");
        }
        args.AddRange(_options.ExtraArguments);
        return args;
    }

    /// <summary>
    /// Polls Maintenance Status (a real RPC, each with a deadline) until it answers, and with
    /// <paramref name="waitForLeader"/> until it names a leader; fails fast when the process exits.
    /// </summary>
    internal async Task WaitReadyAsync(bool waitForLeader, CancellationToken cancellationToken)
    {
        var p = _process ?? throw new InvalidOperationException($"etcd member {Name} was never started");
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.StartTimeout.TotalSeconds * Stopwatch.Frequency);
        var answered = false;
        Exception? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (p.HasExited)
            {
                StartedProcesses.Forget(p);
                throw new EtcdStartException(this, $"etcd member {Name} exited with code {p.ExitCode} while starting\n{LogTail()}");
            }
            try
            {
                var st = await StatusAsync(cancellationToken: cancellationToken);
                if (!answered)
                {
                    answered = true;
                    LastFirstAnswer = Stopwatch.GetElapsedTime(_startedAt);
                }
                if (MemberId != 0 && MemberId != st.Header.MemberId)
                {
                    throw new InvalidOperationException($"etcd member {Name} came back as member {st.Header.MemberId:x}, not {MemberId:x}");
                }
                MemberId = st.Header.MemberId;
                if (!waitForLeader || st.Leader != 0)
                {
                    LastStartDuration = Stopwatch.GetElapsedTime(_startedAt);
                    return;
                }
            }
            catch (Exception e) when (EtcdTestClient.IsTransient(e, cancellationToken))
            {
                last = e;
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new EtcdStartException(this,
                    $"etcd member {Name} (pid {Pid}, {ClientUrl}) not ready after {_options.StartTimeout.TotalSeconds:F0} s " +
                    $"(answered Status: {answered}; last error: {Describe(last)})\n{LogTail()}");
            }
            await Task.Delay(_options.ProbeInterval, cancellationToken);
        }
    }

    private static string Describe(Exception? e) => e switch
    {
        null => "none",
        RpcException r => $"{r.StatusCode} {r.Status.Detail}",
        _ => $"{e.GetType().Name} {e.Message}",
    };

    /// <summary>Kills the process if it runs and disposes the clients.</summary>
    internal void Shutdown()
    {
        Kill();
        lock (_gate)
        {
            foreach (var c in _clients)
            {
                c.Dispose();
            }
            _clients.Clear();
            _process?.Dispose();
            _process = null;
        }
    }
}

/// <summary>An etcd member did not start (exited, or did not answer in time).</summary>
public sealed class EtcdStartException : Exception
{
    public EtcdStartException(EtcdMember member, string message)
        : base(message) => Member = member;

    public EtcdStartException()
    {
    }

    public EtcdStartException(string message)
        : base(message)
    {
    }

    public EtcdStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EtcdMember? Member { get; }

    /// <summary>The member's ports were taken by someone else between choosing and binding them.</summary>
    public bool PortTaken => Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase);
}
