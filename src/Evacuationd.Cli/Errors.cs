using Grpc.Core;

namespace Evacuationd.Cli;

/// <summary>A command line that parsed but makes no sense (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A daemon answered a call with an error status (exit code 1).</summary>
internal sealed class DaemonCallException(string what, Uri server, Status status)
    : Exception($"{what}: {status.StatusCode}: {status.Detail}")
{
    public string What { get; } = what;
    public Uri Server { get; } = server;
    public Status Status { get; } = status;
}

/// <summary>One server that could not be used, and why.</summary>
internal sealed record ServerFailure(Uri Server, string Reason);

/// <summary>No server answered (exit code 3).</summary>
internal sealed class NoDaemonReachableException(string what, IReadOnlyList<ServerFailure> failures)
    : Exception($"{what}: cannot reach any daemon (tried {string.Join(", ", failures.Select(f => f.Server.OriginalString))})")
{
    public string What { get; } = what;
    public IReadOnlyList<ServerFailure> Failures { get; } = failures;
}
