using System.Net;
using Evacuationd.Server.Configuration;

namespace Evacuationd.Server.Security;

/// <summary>
/// Everything the gRPC endpoint needs for S8: where it listens and, for https, the loaded
/// certificates, the client-certificate check and the role mapping. Plaintext (http) is a
/// loopback-only development mode in which every caller is an operator.
/// </summary>
internal sealed class GrpcSecurity : IDisposable
{
    private GrpcSecurity(GrpcListen listen, TlsCertificates? tls, CertificateIdentityMapper? mapper, IPEndPoint? health = null)
    {
        Listen = listen;
        HealthEndpoint = health;
        Tls = tls;
        Mapper = mapper;
        Resolver = mapper is null ? CallerResolver.Development : CallerResolver.ForTls(mapper);
        ClientValidator = tls is null ? null : new ClientCertificateValidator(tls.ClientRoots, tls.ClientIntermediates);
    }

    public GrpcListen Listen { get; }

    public IPEndPoint Endpoint => Listen.Endpoint;

    /// <summary>The plaintext health-only listener (<c>Grpc:HealthListen</c>); null when none.</summary>
    public IPEndPoint? HealthEndpoint { get; }

    /// <summary>Null on a plaintext (development) listener.</summary>
    public TlsCertificates? Tls { get; }

    public bool IsTls => Tls is not null;

    /// <summary>Null on a plaintext (development) listener.</summary>
    public CertificateIdentityMapper? Mapper { get; }

    public CallerResolver Resolver { get; }

    /// <summary>Null on a plaintext (development) listener.</summary>
    public ClientCertificateValidator? ClientValidator { get; }

    /// <summary>A plaintext loopback listener (dev, demo, tests): every caller is an operator.</summary>
    public static GrpcSecurity Plaintext(string listen)
    {
        var parsed = GrpcListen.Parse(listen);
        if (parsed.Tls)
        {
            throw new ConfigurationException([$"Grpc:Listen: https (mutual TLS) needs Grpc:CertFile, Grpc:KeyFile and Grpc:ClientCaFile and is served by `evacuationd serve`; this endpoint (dev, demo) is plaintext on loopback only (got '{listen}')."]);
        }
        return new GrpcSecurity(parsed, null, null);
    }

    /// <summary>Validates the options and loads the files; every problem, by key, in one <see cref="ConfigurationException"/>.</summary>
    public static GrpcSecurity FromOptions(GrpcOptions grpc, SecurityOptions security, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(grpc);
        ArgumentNullException.ThrowIfNull(security);
        var grpcErrors = grpc.Validate();
        var errors = new List<string>(grpcErrors);
        errors.AddRange(security.Validate());
        TlsCertificates? tls = null;
        GrpcListen? listen = null;
        if (grpcErrors.Count == 0)
        {
            listen = GrpcListen.Parse(grpc.Listen);
            if (listen.Tls)
            {
                try
                {
                    tls = TlsCertificates.Load(grpc.CertFile!, grpc.KeyFile!, grpc.ClientCaFile!, (time ?? TimeProvider.System).GetUtcNow());
                }
                catch (ConfigurationException ex)
                {
                    errors.AddRange(ex.Errors);
                }
            }
        }
        if (errors.Count > 0)
        {
            tls?.Dispose();
            throw new ConfigurationException(errors);
        }
        var health = HealthListener.Parse(grpc.HealthListen, listen!.Endpoint.Port);
        return tls is null
            ? new GrpcSecurity(listen, null, null, health)
            : new GrpcSecurity(listen, tls, new CertificateIdentityMapper(security), health);
    }

    /// <summary>Binds sections "Grpc" and "Security" (unknown keys are errors) and calls <see cref="FromOptions"/>.</summary>
    public static GrpcSecurity FromConfiguration(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();
        T Bind<T>(string section) where T : new()
        {
            try
            {
                return ConfigurationLoader.Bind<T>(configuration, section);
            }
            catch (ConfigurationException ex)
            {
                errors.AddRange(ex.Errors);
                return new T();
            }
        }
        var grpc = Bind<GrpcOptions>("Grpc");
        var security = Bind<SecurityOptions>("Security");
        try
        {
            var result = FromOptions(grpc, security);
            if (errors.Count == 0)
            {
                return result;
            }
            result.Dispose();
        }
        catch (ConfigurationException ex)
        {
            errors.AddRange(ex.Errors);
        }
        throw new ConfigurationException(errors);
    }

    public void Dispose() => Tls?.Dispose();
}
