namespace Evacuationd.Server.Security;

/// <summary>
/// Resolves the caller of a request: on a mutual-TLS listener from the connection's client
/// certificate (Kestrel has already checked that it chains to Grpc:ClientCaFile); on a
/// plaintext loopback listener every caller is the development operator.
/// </summary>
internal sealed class CallerResolver
{
    private readonly CertificateIdentityMapper? _mapper;

    private CallerResolver(CertificateIdentityMapper? mapper) => _mapper = mapper;

    /// <summary>A mutual-TLS listener.</summary>
    public static CallerResolver ForTls(CertificateIdentityMapper mapper) => new(mapper ?? throw new ArgumentNullException(nameof(mapper)));

    /// <summary>A plaintext loopback listener (development): every caller is an operator.</summary>
    public static CallerResolver Development { get; } = new(null);

    public bool IsDevelopment => _mapper is null;

    /// <summary>Null when the connection carries no client certificate.</summary>
    public CallerIdentity? Resolve(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (_mapper is null)
        {
            return CallerIdentity.Development;
        }
        var certificate = http.Connection.ClientCertificate;
        return certificate is null ? null : _mapper.Map(certificate);
    }
}
