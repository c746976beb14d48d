using System.Net;
using Evacuationd.Core.Compute;
using Evacuationd.Simulator;

namespace Evacuationd.Nova.Tests;

/// <summary>The Nova client's own rules: microversions, tokens, retries, errors.</summary>
public sealed class NovaClientTests
{
    [Fact]
    public async Task TheMicroversionIsTheLowerOfOursAndNovas()
    {
        await using var bed = await EvacsimTestbed.StartAsync();

        var atMax = await bed.NovaClient(new NovaClientOptions()).MicroversionAsync(CancellationToken.None);
        var capped = await bed.NovaClient(new NovaClientOptions { MaxMicroversion = "2.60" }).MicroversionAsync(CancellationToken.None);

        Assert.Equal(new Microversion(2, 93), atMax);
        Assert.Equal(new Microversion(2, 60), capped);
    }

    [Fact]
    public async Task ANovaBelow253IsRefusedWithAClearMessage()
    {
        await using var bed = await EvacsimTestbed.StartAsync(new SimulatorOptions { MaxMicroversion = "2.50" });
        var nova = bed.NovaClient(new NovaClientOptions());

        var ex = await Assert.ThrowsAsync<ComputeException>(() => nova.FindComputeServiceAsync("compute-01", CancellationToken.None));

        Assert.Contains("2.50", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2.53", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BodiesFollowTheNegotiatedMicroversion()
    {
        // Below 2.73 Nova refuses a lock reason: the client leaves it out.
        await using var bed = await EvacsimTestbed.StartAsync();
        var host = await bed.FreshHostWithInstancesAsync(1);
        var old = bed.NovaClient(new NovaClientOptions { MaxMicroversion = "2.60" });
        var id = (await old.ListServersOnHostAsync(host, CancellationToken.None))[0].Id;

        await old.LockAsync(id, "evacuationd: being evacuated", CancellationToken.None);

        Assert.True((await old.GetServerAsync(id, CancellationToken.None))!.Locked);
        Assert.Contains(bed.Cloud.GetRequestLog(), r => r.Path.EndsWith("/action", StringComparison.Ordinal) && r.StatusCode == 202);
    }

    [Fact]
    public async Task ATokenNovaRejectsIsReplacedOnceAndTheCallSucceeds()
    {
        await using var bed = await EvacsimTestbed.StartAsync(new SimulatorOptions { TokenTtl = TimeSpan.FromMinutes(30) });
        var nova = bed.NovaClient(new NovaClientOptions()); // the client's clock does not move: it cannot know
        Assert.NotNull(await nova.FindComputeServiceAsync("spare-01", CancellationToken.None));

        bed.Time.Advance(TimeSpan.FromHours(1)); // evacsim's clock: the token expired
        var service = await nova.FindComputeServiceAsync("spare-01", CancellationToken.None);

        Assert.NotNull(service);
        var requests = bed.Cloud.GetRequestLog();
        Assert.Equal(2, requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/auth/tokens", StringComparison.Ordinal)));
        Assert.Single(requests, r => r.StatusCode == 401);
    }

    [Fact]
    public async Task ATokenIsRefreshedBeforeItExpires()
    {
        await using var bed = await EvacsimTestbed.StartAsync(new SimulatorOptions { TokenTtl = TimeSpan.FromMinutes(20) });
        var nova = bed.NovaClient(new NovaClientOptions(), clientTime: bed.Time); // one clock for both
        await nova.FindComputeServiceAsync("spare-01", CancellationToken.None);

        bed.Time.Advance(TimeSpan.FromMinutes(16)); // 4 minutes left: inside the 5-minute margin
        await nova.FindComputeServiceAsync("spare-01", CancellationToken.None);

        var requests = bed.Cloud.GetRequestLog();
        Assert.Equal(2, requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/auth/tokens", StringComparison.Ordinal)));
        Assert.DoesNotContain(requests, r => r.StatusCode == 401);
    }

    [Fact]
    public async Task EvacuateIsNeverRetriedButIdempotentCallsAre()
    {
        await using var bed = await EvacsimTestbed.StartAsync();
        using var faulty = new FailingHandler(req => req.Method == HttpMethod.Post && req.RequestUri!.AbsolutePath.EndsWith("/action", StringComparison.Ordinal)
                                                     || req.RequestUri!.AbsolutePath.Contains("/os-migrations", StringComparison.Ordinal));
        using var http = new HttpClient(faulty);
        var nova = bed.NovaClient(new NovaClientOptions { IdempotentTries = 3 }, http: http);

        var outcome = await nova.EvacuateAsync(Guid.NewGuid().ToString(), null, CancellationToken.None);
        var listing = await Assert.ThrowsAsync<ComputeException>(() => nova.ListEvacuationMigrationsAsync(Guid.NewGuid().ToString(), CancellationToken.None));

        Assert.Equal(EvacuateOutcomeKind.Unknown, outcome.Kind); // a 503 says nothing about whether Nova started it
        Assert.Equal(1, faulty.Failed(r => r.EndsWith("/action", StringComparison.Ordinal)));
        Assert.Equal(3, faulty.Failed(r => r.Contains("/os-migrations", StringComparison.Ordinal)));
        Assert.True(listing.Transient);
        Assert.Equal(503, listing.StatusCode);
        Assert.Equal(0, bed.Cloud.GetStats().EvacuateCallsTotal);
    }

    [Fact]
    public async Task AnEvacuateThatCouldNotBeSentIsRejectedNotUnknown()
    {
        var nova = new NovaComputeClient(new NovaClientOptions { ComputeEndpoint = "http://127.0.0.1:9/compute/v2.1", Token = "t" }, TimeProvider.System);

        var outcome = await nova.EvacuateAsync(Guid.NewGuid().ToString(), null, CancellationToken.None);

        Assert.Equal(EvacuateOutcomeKind.Rejected, outcome.Kind);
        Assert.Contains("not sent", outcome.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"badRequest\": {\"code\": 400, \"message\": \"Compute service of compute-01 is still in use.\"}}", "Compute service of compute-01 is still in use.")]
    [InlineData("{\"itemNotFound\": {\"code\": 404, \"message\": \"Instance x could not be found.\"}}", "Instance x could not be found.")]
    [InlineData("{\"error\": {\"code\": 401, \"title\": \"Unauthorized\", \"message\": \"The request you have made requires authentication.\"}}", "The request you have made requires authentication.")]
    [InlineData("<html>bad gateway</html>", "<html>bad gateway</html>")]
    [InlineData("", "HTTP 502 without a body")]
    public void NovasErrorBodiesBecomeTheirMessage(string body, string expected) =>
        Assert.Equal(expected, NovaErrors.MessageOf(body, 502));

    [Fact]
    public void BadOptionsAreNamedByKey()
    {
        var errors = new NovaClientOptions { AuthUrl = "keystone", Interface = "private", MaxMicroversion = "2.1", PageSize = 0 }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Nova:AuthUrl", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Nova:Username", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Nova:Interface", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Nova:MaxMicroversion", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Nova:PageSize", StringComparison.Ordinal));
        Assert.Empty(new NovaClientOptions { ComputeEndpoint = "http://nova:8774/v2.1", Token = "t" }.Validate());
    }

    /// <summary>Answers 503 for matching requests without forwarding them; forwards the rest to evacsim.</summary>
    private sealed class FailingHandler(Func<HttpRequestMessage, bool> fail) : DelegatingHandler(new HttpClientHandler())
    {
        private readonly List<string> _failed = [];

        public int Failed(Func<string, bool> path)
        {
            lock (_failed)
            {
                return _failed.Count(path);
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!fail(request))
            {
                return base.SendAsync(request, cancellationToken);
            }
            lock (_failed)
            {
                _failed.Add(request.RequestUri!.AbsolutePath);
            }
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
            {
                Content = new StringContent("{\"computeFault\": {\"code\": 503, \"message\": \"try later\"}}"),
            });
        }
    }
}
