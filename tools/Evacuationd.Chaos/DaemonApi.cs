using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Evacuationd.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Evacuationd.Chaos;

/// <summary>
/// The daemons' gRPC API as Pacemaker's fence agent (role fencer) and an operator (role
/// operator) reach it: mutual TLS with the run's throwaway CA, one channel per daemon and
/// identity, and calls that fail over from daemon to daemon like evacctl does.
/// </summary>
internal sealed class DaemonApi : IDisposable
{
    private readonly GrpcChannel[] _fencer;
    private readonly GrpcChannel[] _operator;
    private readonly X509Certificate2 _ca;
    private readonly List<X509Certificate2> _identities = [];

    public DaemonApi(string pki, int daemons)
    {
        _ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(pki, "ca.pem"));
        _fencer = Enumerable.Range(1, daemons).Select(n => Channel(Topology.GrpcUrl(n), Identity(pki, "fencer"))).ToArray();
        _operator = Enumerable.Range(1, daemons).Select(n => Channel(Topology.GrpcUrl(n), Identity(pki, "operator"))).ToArray();
    }

    public int Daemons => _fencer.Length;

    public Fencing.FencingClient Fencer(int n) => new(_fencer[n - 1]);

    public Operator.OperatorClient Operator(int n) => new(_operator[n - 1]);

    /// <summary>Statuses after which another daemon is tried (this one is down, cut off, paused, or its store did not confirm).</summary>
    public static bool TryNext(RpcException e) => e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.Aborted or StatusCode.ResourceExhausted;

    /// <summary>
    /// Calls <paramref name="call"/> on daemon <paramref name="first"/>, then on the next ones in
    /// turn while they fail with <see cref="TryNext"/> statuses, until <paramref name="total"/>
    /// has passed (then the last failure is thrown). Returns the answer and who gave it.
    /// </summary>
    public async Task<(T Answer, int Daemon)> FailoverAsync<T>(int first, Func<int, CallOptions, Task<T>> call, TimeSpan perCall, TimeSpan total, CancellationToken ct)
    {
        var until = DateTime.UtcNow + total;
        for (var i = 0; ; i++)
        {
            var n = (first - 1 + i) % Daemons + 1;
            try
            {
                return (await call(n, new CallOptions(deadline: DateTime.UtcNow + perCall, cancellationToken: ct)), n);
            }
            catch (RpcException e) when (TryNext(e) && DateTime.UtcNow < until && !ct.IsCancellationRequested)
            {
                if (i % Daemons == Daemons - 1)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct); // every daemon failed once: a short pause
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (var c in _fencer.Concat(_operator))
        {
            c.Dispose();
        }
        foreach (var c in _identities)
        {
            c.Dispose();
        }
        _ca.Dispose();
    }

    private X509Certificate2 Identity(string pki, string role)
    {
        var cert = X509Certificate2.CreateFromPemFile(Path.Combine(pki, role + ".pem"), Path.Combine(pki, role + "-key.pem"));
        _identities.Add(cert);
        return cert;
    }

    private GrpcChannel Channel(string url, X509Certificate2 identity)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(_ca);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(3),
            EnableMultipleHttp2Connections = true,
            // A connection to a daemon that was partitioned or paused is found dead by pings, not kept forever.
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = policy,
                ClientCertificateContext = SslStreamCertificateContext.Create(identity, [], offline: true),
            },
        };
        return GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }
}
