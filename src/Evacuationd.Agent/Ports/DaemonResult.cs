using Evacuationd.Cli;
using Grpc.Core;

namespace Evacuationd.Agent.Ports;

/// <summary>A daemon that answered a call with an error status, and what it said.</summary>
internal sealed record DaemonRefusal(Uri Server, StatusCode Code, string Message)
{
    public override string ToString() =>
        $"{Code}: {(Message.Length > 0 ? Message : "(the daemon gave no message)")} ({Server.OriginalString})";
}

/// <summary>
/// The outcome of one call to the daemons: exactly one of <see cref="Value"/> (the answer),
/// <see cref="Refusal"/> (a daemon answered with an error status) or <see cref="Unreachable"/>
/// (no daemon could be used; every server tried, and why).
/// </summary>
internal sealed class DaemonResult<T>
    where T : class
{
    private DaemonResult(T? value, DaemonRefusal? refusal, IReadOnlyList<ServerFailure>? unreachable)
    {
        Value = value;
        Refusal = refusal;
        Unreachable = unreachable;
    }

    public T? Value { get; }

    public DaemonRefusal? Refusal { get; }

    public IReadOnlyList<ServerFailure>? Unreachable { get; }

    public bool IsUnreachable => Unreachable is not null;

    public static DaemonResult<T> Ok(T value) => new(value ?? throw new ArgumentNullException(nameof(value)), null, null);

    public static DaemonResult<T> Refused(DaemonRefusal refusal) => new(null, refusal, null);

    public static DaemonResult<T> NoDaemon(IReadOnlyList<ServerFailure> failures) => new(null, null, failures);

    /// <summary>What went wrong, in one line (empty for a success).</summary>
    public string Problem => Refusal is not null
        ? Refusal.ToString()
        : Unreachable is not null
            ? $"cannot reach any daemon ({string.Join("; ", Unreachable.Select(f => $"{f.Server.OriginalString}: {f.Reason}"))})"
            : string.Empty;
}
