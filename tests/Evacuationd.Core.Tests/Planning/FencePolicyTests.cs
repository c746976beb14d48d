using Evacuationd.Core.Planning;
using Evacuationd.Core.Records;

namespace Evacuationd.Core.Tests.Planning;

public class FencePolicyValidationTests
{
    private static FenceReport Good(string host = "compute-01") => new(host, FenceSource.FenceAgent, "fencer-1", "evt-1", 0, null, "power fence ok");

    [Fact]
    public void AGoodReportHasNoErrors()
    {
        Assert.Empty(FencePolicy.Validate(Good()));
        Assert.Empty(FencePolicy.Validate(new FenceReport("compute-01", FenceSource.Operator, "alice", ConfirmedPoweredOff: true)));
    }

    [Fact]
    public void MissingHostIsRequired()
    {
        Assert.Equal(["host is required"], FencePolicy.Validate(Good("")));
    }

    [Theory]
    [InlineData("compute 01")]
    [InlineData("-compute")]
    [InlineData("compute/01")]
    public void BadHostNameIsNamed(string host)
    {
        var error = Assert.Single(FencePolicy.Validate(Good(host)));

        Assert.StartsWith($"host '{host}' is not a valid compute host name", error, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlongHostNameIsRefusedAndQuotedShort()
    {
        var host = new string('h', 300);

        var error = Assert.Single(FencePolicy.Validate(Good(host)));

        Assert.Contains($"host '{new string('h', 64)}... (300 characters)'", error, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('h', 65), error, StringComparison.Ordinal);
        Assert.Contains("at most 255", error, StringComparison.Ordinal);
    }

    [Fact]
    public void HostWithATrailingNewlineIsRefused()
    {
        var error = Assert.Single(FencePolicy.Validate(Good("compute-01\n")));

        Assert.StartsWith("host ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void OperatorWithoutConfirmationIsRefused()
    {
        var error = Assert.Single(FencePolicy.Validate(new FenceReport("compute-01", FenceSource.Operator, "alice")));

        Assert.Contains("confirm_powered_off must be true", error, StringComparison.Ordinal);
    }

    [Fact]
    public void FenceAgentNeedsNoOperatorConfirmation()
    {
        Assert.Empty(FencePolicy.Validate(Good() with { ConfirmedPoweredOff = false }));
    }

    [Fact]
    public void NegativeGenerationIsNamedWithItsValue()
    {
        var error = Assert.Single(FencePolicy.Validate(Good() with { Generation = -1 }));

        Assert.Equal("fence_generation must not be negative (got -1)", error);
    }

    [Fact]
    public void LongStringsAreNamedAndLimitsAreInclusive()
    {
        Assert.Empty(FencePolicy.Validate(Good() with { EventId = new string('e', 256), Reason = new string('r', 1024), Reporter = new string('p', 256) }));

        Assert.Equal(["event_id is longer than 256 characters"], FencePolicy.Validate(Good() with { EventId = new string('e', 257) }));
        Assert.Equal(["reason is longer than 1024 characters"], FencePolicy.Validate(Good() with { Reason = new string('r', 1025) }));
        Assert.Equal(["reporter is longer than 256 characters"], FencePolicy.Validate(Good() with { Reporter = new string('p', 257) }));
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var report = new FenceReport("bad host", FenceSource.Operator, new string('p', 300), new string('e', 300), -2, null, new string('r', 2000));

        var errors = FencePolicy.Validate(report);

        Assert.Equal(6, errors.Count);
        Assert.Collection(errors,
            e => Assert.StartsWith("host ", e, StringComparison.Ordinal),
            e => Assert.StartsWith("confirm_powered_off ", e, StringComparison.Ordinal),
            e => Assert.StartsWith("fence_generation ", e, StringComparison.Ordinal),
            e => Assert.StartsWith("event_id ", e, StringComparison.Ordinal),
            e => Assert.StartsWith("reason ", e, StringComparison.Ordinal),
            e => Assert.StartsWith("reporter ", e, StringComparison.Ordinal));
    }
}

public class FencePolicyDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Released = Now.AddHours(-1);

    private static FenceReport Report(long generation = 0, string? eventId = null, DateTimeOffset? fencedAt = null) =>
        new("compute-01", FenceSource.FenceAgent, "fencer-1", eventId, generation, fencedAt, "power fence ok");

    private static HostRecord Current(HostState state, long generation = 2, string? eventId = "evt-2", bool planned = true) => new()
    {
        Name = "compute-01",
        FenceGeneration = generation,
        State = state,
        EventId = eventId,
        Planned = planned,
        FencedAt = Now.AddHours(-3),
        ReleasedAt = state == HostState.Released ? Released : null,
    };

    [Fact]
    public void FirstReportForAHostCreatesGenerationOne()
    {
        var fencedAt = Now.AddSeconds(-5);

        var d = FencePolicy.Decide(null, Report(eventId: "evt-1", fencedAt: fencedAt), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Created, d.Outcome);
        var h = d.Host;
        Assert.Equal(("compute-01", 1L, HostState.Planning), (h.Name, h.FenceGeneration, h.State));
        Assert.Equal((Now, Now, Now, fencedAt), (h.StateSince, h.ReportedAt, h.UpdatedAt, h.FencedAt));
        Assert.Equal((FenceSource.FenceAgent, "fencer-1", "evt-1", "power fence ok"), (h.Source, h.Reporter, h.EventId, h.FenceReason));
        Assert.False(h.Planned);
        Assert.False(h.ForcedDown);
        Assert.StartsWith("fenced, reported by fence-agent", h.Reason, StringComparison.Ordinal);
        Assert.Contains("fencer-1", h.Reason, StringComparison.Ordinal);
        Assert.EndsWith(": power fence ok", h.Reason, StringComparison.Ordinal);
        var t = Assert.Single(h.History);
        Assert.Equal((Now, "", "planning", "daemon-a"), (t.At, t.From, t.To, t.Daemon));
        Assert.Equal("fencing compute-01:1 recorded", d.Message);
    }

    [Fact]
    public void FirstReportWithoutFenceTimeIsFencedNowAndWithoutEventIdHasNone()
    {
        var d = FencePolicy.Decide(null, Report(eventId: ""), Now, "daemon-a");

        Assert.Equal(Now, d.Host.FencedAt);
        Assert.Null(d.Host.EventId);
    }

    [Fact]
    public void TheFirstFencingIsGeneration1WhateverTheReporterSays()
    {
        // Generations are the daemon's to assign; a reporter's number only detects repeats.
        Assert.Equal(1, FencePolicy.Decide(null, Report(generation: 4), Now, "daemon-a").Host.FenceGeneration);
    }

    [Fact]
    public void OperatorReportSaysWhoReportedIt()
    {
        var d = FencePolicy.Decide(null, new FenceReport("compute-01", FenceSource.Operator, "alice", ConfirmedPoweredOff: true), Now, "daemon-a");

        Assert.StartsWith("fenced, reported by operator", d.Host.Reason, StringComparison.Ordinal);
        Assert.Contains("alice", d.Host.Reason, StringComparison.Ordinal);
        Assert.Equal(FenceSource.Operator, d.Host.Source);
    }

    [Theory]
    [InlineData(HostState.Planning)]
    [InlineData(HostState.Evacuating)]
    [InlineData(HostState.Done)]
    [InlineData(HostState.Released)]
    public void SameGenerationIsADuplicateInAnyState(HostState state)
    {
        var current = Current(state);

        var d = FencePolicy.Decide(current, Report(generation: 2), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Duplicate, d.Outcome);
        Assert.Same(current, d.Host);
        Assert.Contains("compute-01:2 is already recorded", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HostState.Evacuating)]
    [InlineData(HostState.Released)]
    public void SameEventIdIsADuplicateInAnyState(HostState state)
    {
        var d = FencePolicy.Decide(Current(state), Report(eventId: "evt-2"), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Duplicate, d.Outcome);
        Assert.Contains("event evt-2", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HostState.Planning)]
    [InlineData(HostState.Held)]
    [InlineData(HostState.Evacuating)]
    public void ReportWhileTheFencingStillRunsIsADuplicate(HostState state)
    {
        var d = FencePolicy.Decide(Current(state), Report(eventId: "evt-3"), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Duplicate, d.Outcome);
        Assert.Contains("already being handled as fencing compute-01:2", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HostState.Done, true)]
    [InlineData(HostState.Failed, true)]
    public void ReportAfterAnEndedButUnreleasedFencingIsADuplicate(HostState state, bool planned)
    {
        var d = FencePolicy.Decide(Current(state, planned: planned), Report(eventId: "evt-3"), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Duplicate, d.Outcome);
        Assert.Contains("was not returned to service", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OlderGenerationIsStale()
    {
        var d = FencePolicy.Decide(Current(HostState.Evacuating, generation: 3), Report(generation: 2), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Stale, d.Outcome);
        Assert.Contains("fence generation 2", d.Message, StringComparison.Ordinal);
        Assert.Contains("current fencing 3", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FenceTimeBeforeTheHostsReturnToServiceIsStale()
    {
        var d = FencePolicy.Decide(Current(HostState.Released), Report(eventId: "evt-old", fencedAt: Released.AddMinutes(-1)), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Stale, d.Outcome);
        Assert.Contains("predates compute-01's return to service", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(null)]
    public void NewFencingAfterReleaseGetsTheNextGeneration(int? minutesAfterRelease)
    {
        var fencedAt = minutesAfterRelease is { } m ? Released.AddMinutes(m) : (DateTimeOffset?)null;

        var d = FencePolicy.Decide(Current(HostState.Released), Report(eventId: "evt-3", fencedAt: fencedAt), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Created, d.Outcome);
        Assert.Equal(3, d.Host.FenceGeneration);
        Assert.Equal(HostState.Planning, d.Host.State);
        Assert.Null(d.Host.ReleasedAt);
        Assert.Equal("released", d.Host.History[0].From);
        Assert.Contains("previous fencing compute-01:2 ended released", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NewReportAfterAPlanningFailureWithNoRecordsTriesAgainAsTheNextGeneration()
    {
        var d = FencePolicy.Decide(Current(HostState.Failed, planned: false), Report(eventId: "evt-3"), Now, "daemon-a");

        Assert.Equal(FenceOutcome.Created, d.Outcome);
        Assert.Equal(3, d.Host.FenceGeneration);
        Assert.Contains("ended failed", d.Message, StringComparison.Ordinal);
    }
}
