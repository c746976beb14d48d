using Evacuationd.Core.Records;

namespace Evacuationd.Core.Tests.Records;

public class RecordStateTests
{
    [Theory]
    [InlineData(RecordState.Accepted, "accepted", false, false)]
    [InlineData(RecordState.Evacuating, "evacuating", false, true)]
    [InlineData(RecordState.Rebuilding, "rebuilding", false, true)]
    [InlineData(RecordState.Retrying, "retrying", false, false)]
    [InlineData(RecordState.Done, "done", true, false)]
    [InlineData(RecordState.Failed, "failed", true, false)]
    [InlineData(RecordState.Skipped, "skipped", true, false)]
    [InlineData(RecordState.Cancelled, "cancelled", true, false)]
    public void EveryStateHasANameAndAKind(RecordState state, string name, bool terminal, bool inFlight)
    {
        Assert.Equal(name, state.Name());
        Assert.Equal(terminal, state.IsTerminal());
        Assert.Equal(inFlight, state.IsInFlight());
        Assert.True(RecordStates.TryParse(name.ToUpperInvariant(), out var parsed));
        Assert.Equal(state, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("running")]
    public void UnknownStateNamesDoNotParse(string? name)
    {
        Assert.False(RecordStates.TryParse(name, out _));
    }

    [Theory]
    [InlineData(HostState.Planning, "planning", false)]
    [InlineData(HostState.Held, "held", false)]
    [InlineData(HostState.Evacuating, "evacuating", false)]
    [InlineData(HostState.Done, "done", true)]
    [InlineData(HostState.Failed, "failed", true)]
    [InlineData(HostState.Released, "released", true)]
    public void EveryHostStateHasANameAndAKind(HostState state, string name, bool terminal)
    {
        Assert.Equal((name, terminal), (state.Name(), state.IsTerminal()));
    }

    [Fact]
    public void CountsSpreadRecordsOverStates()
    {
        var states = new[]
        {
            RecordState.Accepted, RecordState.Evacuating, RecordState.Rebuilding, RecordState.Retrying,
            RecordState.Done, RecordState.Done, RecordState.Failed, RecordState.Skipped, RecordState.Cancelled,
        };
        var records = states.Select((s, i) => new InstanceRecord { Id = $"compute-01:1:{i}", InstanceUuid = $"{i}", SourceHost = "compute-01", FenceGeneration = 1, State = s });

        var counts = RecordCounts.Of(records);

        Assert.Equal(new RecordCounts(9, 1, 3, 2, 1, 1, 1), counts);
        Assert.Equal(5, counts.Terminal);
    }
}
