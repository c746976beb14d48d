using System.Net.Sockets;
using Evacuationd.Cli.Connection;
using Grpc.Core;

namespace Evacuationd.Cli.Tests;

/// <summary>Which failed calls mean "this server cannot be used" and which are a daemon's answer.</summary>
public class CallFailureTests
{
    private static RpcException Failed(StatusCode code, string detail, Exception? debug = null) => new(new Status(code, detail, debug));

    private static HttpRequestException Protocol(long code, string message) =>
        new(HttpRequestError.HttpProtocolError, message, new HttpProtocolException(code, message, null));

    [Fact]
    public void ConnectionFailuresAndServersThatAreNotGrpcDaemonsAreUnreachable()
    {
        var refused = Failed(StatusCode.Unavailable, "Error connecting to subchannel.", new SocketException((int)SocketError.ConnectionRefused));
        var http11 = Failed(StatusCode.Internal, "Error starting gRPC call.", Protocol(0xd, "The HTTP/2 server closed the connection. HTTP/2 error code 'HTTP_1_1_REQUIRED' (0xd)."));
        var text = Failed(StatusCode.Internal, "Error starting gRPC call.", Protocol(0x1, "The HTTP/2 server sent invalid data on the connection."));
        var web = Failed(StatusCode.Unimplemented, "Bad gRPC response. HTTP status code: 404");
        var proxy = Failed(StatusCode.Unavailable, "Bad gRPC response. HTTP status code: 503");
        // The connection shut down (GOAWAY) before the request could use it: never sent.
        var neverUsable = Failed(StatusCode.Internal, "Error starting gRPC call.", new HttpRequestException("An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake."));

        Assert.All([refused, http11, text, web, proxy, neverUsable], e => Assert.True(CallFailures.IsUnreachable(e), e.Status.Detail));
        Assert.All([refused, http11, text, web, proxy, neverUsable], e => Assert.False(CallFailures.IsDaemonAnswer(e), e.Status.Detail));
        Assert.StartsWith("no HTTP/2 connection: ", CallFailures.Describe(neverUsable), StringComparison.Ordinal);
        Assert.StartsWith("not a gRPC server: it speaks HTTP/1.1 only", CallFailures.Describe(http11), StringComparison.Ordinal);
        Assert.StartsWith("not a gRPC server: it does not speak HTTP/2", CallFailures.Describe(text), StringComparison.Ordinal);
        Assert.Equal("not a gRPC server: Bad gRPC response. HTTP status code: 404", CallFailures.Describe(web));
    }

    [Fact]
    public void ADaemonsOwnAnswersAreAnswers()
    {
        var reset = Failed(StatusCode.Internal, "Error starting gRPC call.", Protocol(0x2, "The HTTP/2 server reset the stream. HTTP/2 error code 'INTERNAL_ERROR' (0x2)."));
        var unimplemented = Failed(StatusCode.Unimplemented, "Service is unimplemented.");
        var denied = Failed(StatusCode.PermissionDenied, "needs operator");
        var afterResponse = Failed(StatusCode.Internal, "Error reading next message.", new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely."));

        Assert.All([reset, unimplemented, denied, afterResponse], e => Assert.False(CallFailures.IsUnreachable(e), e.Status.Detail));
    }

    [Fact]
    public void AnUnavailableTheDaemonSaidItselfIsWorthAnotherDaemonButIsAnAnswer()
    {
        var storeDown = Failed(StatusCode.Unavailable, "the store did not confirm: etcd timed out");

        Assert.True(CallFailures.IsUnreachable(storeDown));
        Assert.True(CallFailures.IsDaemonAnswer(storeDown));
        Assert.Equal("Unavailable: the store did not confirm: etcd timed out", CallFailures.Describe(storeDown));
    }
}
