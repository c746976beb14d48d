namespace Evacuationd.Server.Security;

/// <summary>
/// Who is calling, as resolved from the connection's client certificate (or the development
/// caller of a plaintext loopback listener).
/// </summary>
/// <param name="Subject">For logs: the certificate subject and serial number.</param>
/// <param name="Role">Null when the certificate maps to no role (<paramref name="NoRoleReason"/> says why).</param>
/// <param name="Host">For an agent: the compute host its certificate names (null if it names none).</param>
internal sealed record CallerIdentity(string Subject, CallerRole? Role, string? Host, string? NoRoleReason = null)
{
    /// <summary>Every caller of a plaintext loopback (development) listener.</summary>
    public static CallerIdentity Development { get; } = new("development caller (plaintext loopback listener, no TLS)", CallerRole.Operator, null);

    /// <summary>The key under which the interceptor leaves the identity in ServerCallContext.UserState for services.</summary>
    public const string UserStateKey = "evacuationd.caller";

    public override string ToString() => Role switch
    {
        null => $"{Subject} (no role)",
        CallerRole.Agent => $"{Subject} (role agent, host {Host ?? "none"})",
        { } r => $"{Subject} (role {r.Name()})",
    };
}
