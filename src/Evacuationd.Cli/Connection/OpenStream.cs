using Grpc.Core;

namespace Evacuationd.Cli.Connection;

/// <summary>A started server stream: the first MoveNext was done (<see cref="HasFirst"/>).</summary>
internal sealed class OpenStream<T>(Uri server, AsyncServerStreamingCall<T> call, bool hasFirst, CancellationTokenSource lifetime) : IDisposable
{
    public Uri Server { get; } = server;
    public AsyncServerStreamingCall<T> Call { get; } = call;
    public bool HasFirst { get; } = hasFirst;

    public void Dispose()
    {
        Call.Dispose();
        lifetime.Dispose();
    }
}
