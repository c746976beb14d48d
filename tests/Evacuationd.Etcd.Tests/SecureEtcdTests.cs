using Etcdserverpb;
using Evacuationd.Core.Records;
using Evacuationd.Core.Store;
using Evacuationd.Testing.Etcd;
using Evacuationd.Testing.Store;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Time.Testing;

namespace Evacuationd.Etcd.Tests;

/// <summary>One etcd member serving clients over TLS with <c>--client-cert-auth</c> (certificates made by the fixture).</summary>
public sealed class TlsEtcdFixture : IAsyncLifetime
{
    private EtcdCluster? _cluster;

    public EtcdCluster Cluster => _cluster ?? throw new InvalidOperationException("fixture not initialized");

    public EtcdClusterTls Tls => Cluster.Tls!;

    public async Task InitializeAsync() => _cluster = await EtcdCluster.StartAsync(1, EtcdClusterOptions.Default with { Tls = true });

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// One etcd member with auth enabled: root, and user <see cref="User"/> with read-write on the
/// test key prefixes only. Simple tokens live <see cref="TokenTtl"/> after their last use
/// (<c>--auth-token-ttl</c>), so tests see tokens expire.
/// </summary>
public sealed class AuthEtcdFixture : IAsyncLifetime
{
    public const string User = "evacuationd";

    public static readonly TimeSpan TokenTtl = TimeSpan.FromSeconds(2);

    private EtcdCluster? _cluster;

    public EtcdCluster Cluster => _cluster ?? throw new InvalidOperationException("fixture not initialized");

    public string RootPassword { get; } = "root-" + Guid.NewGuid().ToString("N");

    public string Password { get; } = "pw-" + Guid.NewGuid().ToString("N");

    public async Task InitializeAsync()
    {
        _cluster = await EtcdCluster.StartAsync(1, EtcdClusterOptions.Default with
        {
            ExtraArguments = ["--auth-token=simple", $"--auth-token-ttl={(int)TokenTtl.TotalSeconds}", "--bcrypt-cost=4"],
        });
        await EtcdTestAuth.EnableAsync(_cluster.Client, RootPassword, [new EtcdTestUser(User, Password, EtcdKeyPrefix.Root + "/")]);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// One etcd member with both: TLS with <c>--client-cert-auth</c>, and auth enabled (user
/// <see cref="AuthEtcdFixture.User"/>, etcd's default token TTL of 5 minutes).
/// </summary>
public sealed class SecureEtcdFixture : IAsyncLifetime
{
    private EtcdCluster? _cluster;

    public EtcdCluster Cluster => _cluster ?? throw new InvalidOperationException("fixture not initialized");

    public EtcdClusterTls Tls => Cluster.Tls!;

    public string RootPassword { get; } = "root-" + Guid.NewGuid().ToString("N");

    public string Password { get; } = "pw-" + Guid.NewGuid().ToString("N");

    public async Task InitializeAsync()
    {
        _cluster = await EtcdCluster.StartAsync(1, EtcdClusterOptions.Default with { Tls = true, ExtraArguments = ["--bcrypt-cost=4"] });
        await EtcdTestAuth.EnableAsync(_cluster.Client, RootPassword, [new EtcdTestUser(AuthEtcdFixture.User, Password, EtcdKeyPrefix.Root + "/")]);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>The store contract, unchanged, over TLS with a client certificate and etcd auth.</summary>
public sealed class SecureEtcdContractTests(SecureEtcdFixture etcd) : EvacuationStoreContract, IClassFixture<SecureEtcdFixture>
{
    protected override TimeSpan LeaseTtl => TimeSpan.FromSeconds(2);

    protected override DateTimeOffset Now => DateTimeOffset.UtcNow;

    protected override Task<IEvacuationStore> CreateStoreAsync(FakeTimeProvider time) =>
        Task.FromResult<IEvacuationStore>(new EtcdEvacuationStore(new EtcdOptions
        {
            Endpoints = etcd.Cluster.ClientUrls,
            Prefix = EtcdKeyPrefix.New(),
            CaFile = etcd.Tls.CaFile,
            CertFile = etcd.Tls.CertFile,
            KeyFile = etcd.Tls.KeyFile,
            Username = AuthEtcdFixture.User,
            Password = etcd.Password,
        }, TimeProvider.System));

    protected override async Task CompactAsync()
    {
        var root = await EtcdTestAuth.TokenHeadersAsync(etcd.Cluster.Client, EtcdTestAuth.Root, etcd.RootPassword);
        var kv = etcd.Cluster.Client.GetConnection().KVClient;
        var now = await kv.RangeAsync(new RangeRequest { Key = EtcdTestClient.Bytes("/") }, root);
        await kv.CompactAsync(new CompactionRequest { Revision = now.Header.Revision, Physical = true }, root);
    }

    protected override Task LetTimePassAsync(TimeSpan duration) => RealTime.PassAsync(duration);

    // LeaseTimeToLive needs no token in etcd 3.4.
    protected override Task ExpireLeaseAsync(DaemonLease lease) => RealTime.UntilLeaseGoneAsync(etcd.Cluster.Client, lease);
}

/// <summary>The store over TLS to an etcd that requires client certificates.</summary>
public sealed class SecureEtcdTlsTests(TlsEtcdFixture etcd) : IClassFixture<TlsEtcdFixture>, IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }

    [Fact]
    public async Task TheStoreWorksOverTlsWithAClientCertificate()
    {
        var store = Store(Options());
        var snapshot = await store.ReadSnapshotAsync(None);
        await using var watch = WatchRecorder.Start(store, snapshot.Revision);
        var lease = await store.GrantLeaseAsync(StoreRecords.Daemon("daemon-tls"), TimeSpan.FromSeconds(10), None);

        var put = await store.PutHostIfAsync(StoreRecords.Host("compute-tls"), 0, None);
        var claim = await store.TryClaimHostAsync(lease, "compute-tls", put.Revision, null, None);
        var renewed = await store.KeepAliveAsync(lease, None);

        Assert.True(put.Ok, put.Detail);
        Assert.True(claim.Claimed);
        Assert.True(renewed.Alive);
        Assert.Equal("daemon-tls", await store.GetOwnerAsync(RecordKey.Host("compute-tls"), None));
        var change = await NextOfKindAsync(watch, ChangeKind.HostPut);
        Assert.Equal("compute-tls", change.Host!.Value.Name);
        Assert.Equal(put.Revision, change.Revision);
    }

    [Fact]
    public async Task WithoutAClientCertificateEtcdRefusesTheConnection()
    {
        var store = Store(Options(o => { o.CertFile = null; o.KeyFile = null; }));

        var lease = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GrantLeaseAsync(StoreRecords.Daemon("no-cert"), TimeSpan.FromSeconds(10), None));
        var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetHostAsync("compute-01", None));

        Assert.Contains("without a client certificate", lease.Message, StringComparison.Ordinal);
        Assert.Contains("set Etcd:CertFile and Etcd:KeyFile", read.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientCertificateFromAnotherCaIsRefused()
    {
        using var other = EtcdTestAuthority.Create("another CA");
        var stranger = other.IssueClient(Path.Combine(etcd.Cluster.BaseDirectory, "other-" + Guid.NewGuid().ToString("N")), "client", "stranger");
        var store = Store(Options(o => { o.CertFile = stranger.CertFile; o.KeyFile = stranger.KeyFile; }));

        var lease = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GrantLeaseAsync(StoreRecords.Daemon("stranger"), TimeSpan.FromSeconds(10), None));
        var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetHostAsync("compute-01", None));

        Assert.Contains("refused the client certificate CN=stranger of Etcd:CertFile", lease.Message, StringComparison.Ordinal);
        Assert.Contains("refused the client certificate CN=stranger of Etcd:CertFile", read.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerCertificateFromAnotherCaIsRefused()
    {
        using var other = EtcdTestAuthority.Create("not etcd's CA");
        var ca = other.WriteCertificate(Path.Combine(etcd.Cluster.BaseDirectory, "other-ca-" + Guid.NewGuid().ToString("N") + ".pem"));
        var store = Store(Options(o => { o.CaFile = ca; }));

        var lease = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GrantLeaseAsync(StoreRecords.Daemon("wrong-ca"), TimeSpan.FromSeconds(10), None));
        var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetHostAsync("compute-01", None));

        Assert.Contains("etcd's server certificate CN=server", lease.Message, StringComparison.Ordinal);
        Assert.Contains("does not chain to a CA of Etcd:CaFile", lease.Message, StringComparison.Ordinal);
        Assert.Contains("does not chain to a CA of Etcd:CaFile", read.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerCertificateThatDoesNotNameTheHostIsRefused()
    {
        // The server certificate names IP 127.0.0.1 only; "localhost" reaches the same listener.
        var endpoint = etcd.Cluster.ClientUrls.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        var store = Store(Options(o => { o.Endpoints = endpoint; }));

        var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetHostAsync("compute-01", None));

        Assert.Contains("does not name the endpoint's host", read.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheClusterClientOfTheFixtureSpeaksTls()
    {
        var status = await etcd.Cluster.Members[0].StatusAsync();

        Assert.StartsWith("https://127.0.0.1:", etcd.Cluster.ClientUrls, StringComparison.Ordinal);
        Assert.NotEqual(0UL, status.Header.MemberId);
        Assert.True(File.Exists(etcd.Cluster.Members[0].ServerCertificate!.CertFile));
    }

    [Fact]
    public async Task CredentialsForAnEtcdWithoutAuthAreHarmless()
    {
        var store = Store(Options(o => { o.Username = "someone"; o.Password = "unused"; }));

        var put = await store.PutHostIfAsync(StoreRecords.Host("compute-noauth"), 0, None);

        Assert.True(put.Ok, put.Detail);
        Assert.NotNull(await store.GetHostAsync("compute-noauth", None));
    }

    private EtcdOptions Options(Action<EtcdOptions>? change = null)
    {
        var options = new EtcdOptions
        {
            Endpoints = etcd.Cluster.ClientUrls,
            Prefix = EtcdKeyPrefix.New(),
            CaFile = etcd.Tls.CaFile,
            CertFile = etcd.Tls.CertFile,
            KeyFile = etcd.Tls.KeyFile,
            RequestTimeout = TimeSpan.FromSeconds(1),
            WriteResolveTimeout = TimeSpan.FromSeconds(2),
        };
        change?.Invoke(options);
        return options;
    }

    private EtcdEvacuationStore Store(EtcdOptions options)
    {
        var store = new EtcdEvacuationStore(options, TimeProvider.System);
        _owned.Add(store);
        return store;
    }

    internal static async Task<StoreChange> NextOfKindAsync(WatchRecorder watch, ChangeKind kind)
    {
        while (true)
        {
            var change = await watch.NextAsync();
            if (change.Kind == kind)
            {
                return change;
            }
        }
    }
}

/// <summary>The store against an etcd with auth enabled (user and password, tokens that expire).</summary>
public sealed class SecureEtcdAuthTests(AuthEtcdFixture etcd) : IClassFixture<AuthEtcdFixture>, IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly List<IDisposable> _owned = [];
    private readonly CountingInterceptor _wire = new();

    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }

    [Fact]
    public async Task AWrongPasswordFailsNamingTheKeysNotThePassword()
    {
        const string wrong = "not-the-password-4711";
        var store = Store(Options(o => { o.Password = wrong; }));

        var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetHostAsync("compute-01", None));
        var write = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.PutHostIfAsync(StoreRecords.Host("compute-01"), 0, None));
        var lease = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GrantLeaseAsync(StoreRecords.Daemon("d"), TimeSpan.FromSeconds(5), None));
        await using var watch = WatchRecorder.Start(store, 0);
        var watched = await Assert.ThrowsAsync<StoreUnavailableException>(() => watch.NextAsync());

        foreach (var ex in new[] { read, write, lease, watched })
        {
            Assert.Contains("Etcd:Username", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(etcd.Password, ex.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task WithoutCredentialsEtcdRefusesTheStore()
    {
        var store = Store(Options(o => { o.Username = null; o.Password = null; }));

        var ex = await Assert.ThrowsAsync<RpcException>(() => store.GetHostAsync("compute-01", None));

        Assert.Contains("user name is empty", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRightPasswordWorksForWritesWatchesAndKeepalives()
    {
        var store = Store(Options());
        var snapshot = await store.ReadSnapshotAsync(None);
        await using var watch = WatchRecorder.Start(store, snapshot.Revision);
        var lease = await store.GrantLeaseAsync(StoreRecords.Daemon("daemon-auth"), TimeSpan.FromSeconds(10), None);

        var put = await store.PutHostIfAsync(StoreRecords.Host("compute-auth"), 0, None);
        var claim = await store.TryClaimHostAsync(lease, "compute-auth", put.Revision, null, None);
        var renewed = await store.KeepAliveAsync(lease, None);

        Assert.True(put.Ok, put.Detail);
        Assert.True(claim.Claimed);
        Assert.True(renewed.Alive);
        var change = await SecureEtcdTlsTests.NextOfKindAsync(watch, ChangeKind.HostPut);
        Assert.Equal("compute-auth", change.Host!.Value.Name);
        // One token for all of it (a second only if this machine idled past the 2 s token TTL).
        Assert.InRange(_wire.Authentications, 1, 2);
    }

    [Fact]
    public async Task AnExpiredTokenIsReplacedForReadsWritesWatchesAndKeepalives()
    {
        var store = Store(Options());
        var lease = await store.GrantLeaseAsync(StoreRecords.Daemon("daemon-ttl"), TimeSpan.FromSeconds(30), None);
        var put = await store.PutHostIfAsync(StoreRecords.Host("compute-ttl"), 0, None);
        Assert.True(put.Ok, put.Detail);
        Assert.Equal(1, _wire.Authentications);

        await TokenExpiresAsync();
        var read = await store.GetHostAsync("compute-ttl", None); // a read: sent again with a new token
        Assert.Equal(put.Revision, read!.Revision);
        Assert.Equal(2, _wire.Authentications);

        await TokenExpiresAsync();
        var claim = await store.TryClaimHostAsync(lease, "compute-ttl", put.Revision, null, None); // a write: resolved by the store
        Assert.True(claim.Claimed, claim.Status.ToString());
        Assert.Equal(3, _wire.Authentications);

        await TokenExpiresAsync();
        var renewed = await store.KeepAliveAsync(lease, None);
        Assert.True(renewed.Alive);

        await TokenExpiresAsync();
        var before = _wire.Authentications;
        // etcd refuses a watch created with an expired token by cancelling it: the store reopens it, with a new token.
        await using var watch = WatchRecorder.Start(store, put.Revision);
        var change = await SecureEtcdTlsTests.NextOfKindAsync(watch, ChangeKind.OwnerPut);
        Assert.Equal("daemon-ttl", change.Owner);
        Assert.True(_wire.Authentications > before, "the watch opened with a new token");
    }

    [Fact]
    public async Task ALeaseGrantRefusedForAnExpiredTokenIsGrantedOnTheStoresRetryWithANewToken()
    {
        // The interceptor never re-sends a write itself (it answers Unavailable, "not applied");
        // the store knows a grant is safe to repeat and asks again, which authenticates anew.
        var store = Store(Options());
        await store.ReadSnapshotAsync(None);

        await TokenExpiresAsync();
        var lease = await store.GrantLeaseAsync(StoreRecords.Daemon("daemon-late"), TimeSpan.FromSeconds(10), None);

        Assert.True((await store.KeepAliveAsync(lease, None)).Alive);
        Assert.Equal(2, _wire.Authentications);
    }

    private static Task TokenExpiresAsync() => Task.Delay(AuthEtcdFixture.TokenTtl + TimeSpan.FromSeconds(1.5));

    private EtcdOptions Options(Action<EtcdOptions>? change = null)
    {
        var options = new EtcdOptions
        {
            Endpoints = etcd.Cluster.ClientUrls,
            Prefix = EtcdKeyPrefix.New(),
            Username = AuthEtcdFixture.User,
            Password = etcd.Password,
            RequestTimeout = TimeSpan.FromSeconds(2),
            WriteResolveTimeout = TimeSpan.FromSeconds(10),
        };
        change?.Invoke(options);
        return options;
    }

    private EtcdEvacuationStore Store(EtcdOptions options)
    {
        var store = new EtcdEvacuationStore(options, TimeProvider.System, [_wire]);
        _owned.Add(store);
        return store;
    }

    /// <summary>Counts the Authenticate calls etcd answered (the auth interceptor sits inside this one).</summary>
    private sealed class CountingInterceptor : Interceptor
    {
        private int _authentications;

        public int Authentications => Volatile.Read(ref _authentications);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(request, context);
            if (request is not AuthenticateRequest)
            {
                return call;
            }
            return new AsyncUnaryCall<TResponse>(CountAsync(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private async Task<TResponse> CountAsync<TResponse>(Task<TResponse> response)
        {
            var answer = await response.ConfigureAwait(false);
            Interlocked.Increment(ref _authentications);
            return answer;
        }
    }
}

/// <summary>The TLS and auth settings, checked by key before anything connects.</summary>
public sealed class SecureEtcdOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("evacuationd-etcd-options-").FullName;
    private readonly EtcdTestAuthority _ca = EtcdTestAuthority.Create("options CA");

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void HttpsWithACaAndAClientCertificateIsValid()
    {
        var (ca, client) = Files();

        Assert.Empty(Https(ca, client.CertFile, client.KeyFile).Validate());
        Assert.Empty(Https(ca, null, null).Validate()); // server-only TLS
    }

    [Fact]
    public void AnExpiredClientCertificateIsNamedWithItsExpiry()
    {
        var (ca, client) = Files();
        var later = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddYears(200));

        var valid = EtcdTls.Check(Https(ca, client.CertFile, client.KeyFile), httpsEndpoints: true, "Etcd");
        var expired = EtcdTls.Check(Https(ca, client.CertFile, client.KeyFile), httpsEndpoints: true, "Etcd", later);

        Assert.Empty(valid);
        Assert.StartsWith("Etcd:CertFile: the client certificate", Assert.Single(expired), StringComparison.Ordinal);
        Assert.Contains("expired on", expired[0], StringComparison.Ordinal);
    }

    [Fact]
    public void HttpsNeedsTheCa()
    {
        var (_, client) = Files();

        var error = Assert.Single(Https(null, client.CertFile, client.KeyFile).Validate());

        Assert.StartsWith("Etcd:CaFile is required with https endpoints", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCertificateAndItsKeyComeTogether()
    {
        var (ca, client) = Files();

        Assert.StartsWith("Etcd:KeyFile is required with Etcd:CertFile", Assert.Single(Https(ca, client.CertFile, null).Validate()), StringComparison.Ordinal);
        Assert.StartsWith("Etcd:CertFile is required with Etcd:KeyFile", Assert.Single(Https(ca, null, client.KeyFile).Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingUnreadableAndMismatchedFilesAreNamedByKey()
    {
        var (ca, client) = Files();
        var other = _ca.IssueClient(_dir, "other", "other");
        var garbage = Path.Combine(_dir, "garbage.pem");
        File.WriteAllText(garbage, "not a certificate");

        var missing = Https(Path.Combine(_dir, "nope.pem"), Path.Combine(_dir, "nope-cert.pem"), Path.Combine(_dir, "nope-key.pem")).Validate();
        var mismatched = Https(ca, client.CertFile, other.KeyFile).Validate();
        var notACa = Https(client.CertFile, null, null).Validate();
        var notPem = Https(garbage, null, null).Validate();

        Assert.Equal(3, missing.Count);
        Assert.Contains(missing, e => e.StartsWith("Etcd:CaFile: the file", StringComparison.Ordinal) && e.Contains("nope.pem", StringComparison.Ordinal));
        Assert.Contains(missing, e => e.StartsWith("Etcd:CertFile: the file", StringComparison.Ordinal));
        Assert.Contains(missing, e => e.StartsWith("Etcd:KeyFile: the file", StringComparison.Ordinal));
        Assert.StartsWith("Etcd:KeyFile: cannot use", Assert.Single(mismatched), StringComparison.Ordinal);
        Assert.Contains(notACa, e => e.StartsWith("Etcd:CaFile:", StringComparison.Ordinal) && e.Contains("not a CA certificate", StringComparison.Ordinal));
        Assert.StartsWith("Etcd:CaFile:", Assert.Single(notPem), StringComparison.Ordinal);
    }

    [Fact]
    public void TheEndpointsShareOneScheme()
    {
        var (ca, _) = Files();
        var options = Https(ca, null, null);
        options.Endpoints = "https://127.0.0.1:2379,http://127.0.0.2:2379";

        Assert.Contains(options.Validate(), e => e.StartsWith("Etcd:Endpoints mixes http and https", StringComparison.Ordinal));
    }

    [Fact]
    public void TlsFilesWithHttpEndpointsAreRefused()
    {
        var (ca, client) = Files();
        var options = Https(ca, client.CertFile, client.KeyFile);
        options.Endpoints = "http://127.0.0.1:2379";

        var error = Assert.Single(options.Validate());

        Assert.Contains("Etcd:CaFile, Etcd:CertFile, Etcd:KeyFile", error, StringComparison.Ordinal);
        Assert.Contains("use https endpoints", error, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyTlsSettingsMeanNone()
    {
        var options = new EtcdOptions { Endpoints = "http://127.0.0.1:2379", CaFile = "", CertFile = "", KeyFile = "", Username = "", Password = "" };

        Assert.Empty(options.Validate());
    }

    [Fact]
    public void UserAndPasswordComeTogetherAndThePasswordIsNeverShown()
    {
        const string secret = "s3cr3t-never-shown";
        var noUser = new EtcdOptions { Endpoints = "http://127.0.0.1:2379", Password = secret, Prefix = "bad" };
        var noPassword = new EtcdOptions { Endpoints = "http://127.0.0.1:2379", Username = "evacuationd" };

        var errors = noUser.Validate();
        var ex = Assert.Throws<ArgumentException>(() => new EtcdEvacuationStore(noUser, TimeProvider.System));

        Assert.Contains(errors, e => e.StartsWith("Etcd:Password is set without Etcd:Username", StringComparison.Ordinal));
        Assert.StartsWith("Etcd:Username is set without Etcd:Password", Assert.Single(noPassword.Validate()), StringComparison.Ordinal);
        Assert.DoesNotContain(errors, e => e.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(secret, ex.Message, StringComparison.Ordinal);
        Assert.Empty(new EtcdOptions { Endpoints = "http://127.0.0.1:2379", Username = "evacuationd", Password = secret }.Validate());
    }

    [Fact]
    public void OnlyReadsAreSentAgainAfterARefusedToken()
    {
        var range = new RequestOp { RequestRange = new RangeRequest { Key = EtcdTestClient.Bytes("/a") } };
        var put = new RequestOp { RequestPut = new PutRequest { Key = EtcdTestClient.Bytes("/a") } };

        Assert.True(EtcdAuthInterceptor.IsRead(new RangeRequest()));
        Assert.True(EtcdAuthInterceptor.IsRead(new TxnRequest { Success = { range, range } }));
        Assert.False(EtcdAuthInterceptor.IsRead(new TxnRequest { Success = { range, put } }));
        Assert.False(EtcdAuthInterceptor.IsRead(new TxnRequest { Compare = { new Compare() }, Success = { range } }));
        Assert.False(EtcdAuthInterceptor.IsRead(new LeaseGrantRequest()));
        Assert.False(EtcdAuthInterceptor.IsRead(new PutRequest()));
        Assert.True(EtcdAuthInterceptor.IsTokenRefused(new RpcException(new Status(StatusCode.Unauthenticated, "etcdserver: invalid auth token"))));
        Assert.True(EtcdAuthInterceptor.IsTokenRefused(new RpcException(new Status(StatusCode.InvalidArgument, "etcdserver: user name is empty"))));
        Assert.True(EtcdAuthInterceptor.IsTokenRefused(new RpcException(new Status(StatusCode.InvalidArgument, "etcdserver: revision of auth store is old"))));
        Assert.False(EtcdAuthInterceptor.IsTokenRefused(new RpcException(new Status(StatusCode.PermissionDenied, "etcdserver: permission denied"))));
    }

    private (string Ca, EtcdTestCertificateFiles Client) Files() =>
        (_ca.WriteCertificate(Path.Combine(_dir, "ca.pem")), _ca.IssueClient(_dir, "client", "evacuationd"));

    private static EtcdOptions Https(string? ca, string? cert, string? key) =>
        new() { Endpoints = "https://127.0.0.1:2379,https://127.0.0.2:2379", CaFile = ca, CertFile = cert, KeyFile = key };
}
