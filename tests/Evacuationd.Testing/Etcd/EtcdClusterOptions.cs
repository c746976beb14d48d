namespace Evacuationd.Testing.Etcd;

/// <summary>
/// How the test etcd members are started. The defaults favour speed: no fsync (tests only)
/// and short raft timings so a leader change after a kill takes about a second.
/// Set <see cref="HeartbeatInterval"/> / <see cref="ElectionTimeout"/> to null for etcd's
/// own defaults (100 ms / 1000 ms).
/// </summary>
public sealed record EtcdClusterOptions
{
    /// <summary>The defaults: no fsync, heartbeat 50 ms, election timeout 500 ms.</summary>
    public static EtcdClusterOptions Default { get; } = new();

    /// <summary>Pass <c>--unsafe-no-fsync</c> (accepted by 3.4.23, not shown in its help).</summary>
    public bool UnsafeNoFsync { get; init; } = true;

    /// <summary><c>--heartbeat-interval</c>; null leaves etcd's default.</summary>
    public TimeSpan? HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary><c>--election-timeout</c>; null leaves etcd's default.</summary>
    public TimeSpan? ElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a start (or restart) may take before it counts as failed.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline of one readiness probe RPC.</summary>
    public TimeSpan ProbeDeadline { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Pause between two readiness probes.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The etcd binary; null finds it on PATH, then at /usr/bin/etcd.</summary>
    public string? BinaryPath { get; init; }

    /// <summary>Further flags appended to every member's command line.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>
    /// Serve clients over TLS: a CA made for the cluster (<c>tls/ca.pem</c>), a server certificate
    /// per member in its folder (<c>server.pem</c>, <c>server-key.pem</c>; SAN IP 127.0.0.1 and
    /// <see cref="ServerDnsNames"/>), https client URLs, and <c>--client-cert-auth</c> with a
    /// client certificate for the cluster's own clients (<c>tls/client.pem</c>). Peers stay http.
    /// See <see cref="EtcdCluster.Tls"/>.
    /// </summary>
    public bool Tls { get; init; }

    /// <summary>With <see cref="Tls"/>: require client certificates (<c>--client-cert-auth</c>). Default true.</summary>
    public bool ClientCertAuth { get; init; } = true;

    /// <summary>With <see cref="Tls"/>: DNS names in the server certificates besides IP 127.0.0.1 (none by default).</summary>
    public IReadOnlyList<string> ServerDnsNames { get; init; } = [];

    /// <summary>Keep the data directories after dispose (also when env EVACUATIOND_KEEP_ETCD=1).</summary>
    public bool KeepDirectories { get; init; }

    /// <summary>
    /// The IPv4 address every member listens on (client and peer ports), 127.0.0.1 by default.
    /// Another address must exist in the caller's network namespace (the chaos harness runs in
    /// its own namespace and puts etcd on the bridge, where cut-off daemons cannot reach it).
    /// Not with <see cref="Tls"/> (its server certificates name 127.0.0.1).
    /// </summary>
    public System.Net.IPAddress ListenAddress { get; init; } = System.Net.IPAddress.Loopback;
}
