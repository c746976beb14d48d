using Evacuationd.Cli.Connection;
using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Tests;

public class OutputTests
{
    [Fact]
    public void TableAlignsColumnsAndLeavesNoTrailingSpaces()
    {
        var table = new Table("A", "LONGER", "C");
        table.Add("xxxx", "y", "");
        table.Add("z", "", "last");
        using var writer = new StringWriter();

        table.Write(writer, new Style(false));

        Assert.Equal(["A     LONGER  C", "xxxx  y", "z             last"], writer.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void TableColoursDoNotChangeTheAlignment()
    {
        var table = new Table("STATE", "X");
        table.Add(new Cell("done", Colour.Green), "1");
        using var plain = new StringWriter();
        using var coloured = new StringWriter();

        table.Write(plain, new Style(false));
        table.Write(coloured, new Style(true));

        Assert.DoesNotContain("\u001b[", plain.ToString(), StringComparison.Ordinal);
        Assert.Contains("\u001b[32mdone\u001b[0m   1", coloured.ToString(), StringComparison.Ordinal);
        Assert.Equal(plain.ToString(), coloured.ToString().Replace("\u001b[32m", "", StringComparison.Ordinal).Replace("\u001b[0m", "", StringComparison.Ordinal));
    }

    [Fact]
    public void ColoursOnlyOnATerminalWithoutNOCOLOR()
    {
        Assert.True(new CliEnvironment { StdoutIsTerminal = true }.UseColor);
        Assert.False(new CliEnvironment { StdoutIsTerminal = false }.UseColor);
        Assert.False(new CliEnvironment { StdoutIsTerminal = true, Variables = new Dictionary<string, string> { ["NO_COLOR"] = "1" } }.UseColor);
        Assert.False(new CliEnvironment { StdoutIsTerminal = true, Variables = new Dictionary<string, string> { ["TERM"] = "dumb" } }.UseColor);
    }

    [Fact]
    public void EnumNamesDropTheTypePrefix()
    {
        Assert.Equal("fence-agent", Text.EnumName(FenceSource.FenceAgent));
        Assert.Equal("duplicate", Text.EnumName(FenceOutcome.Duplicate));
        Assert.Equal("snapshot-end", Text.EnumName(RecordEvent.Types.Kind.SnapshotEnd));
        Assert.Equal(
            ["accepted", "evacuating", "rebuilding", "retrying", "done", "failed", "skipped", "cancelled"],
            Text.EnumValues<RecordState>().Keys);
    }

    [Fact]
    public void RelativeTimes()
    {
        var now = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal("in 7s", Text.Relative(now.AddSeconds(7), now));
        Assert.Equal("3m ago", Text.Relative(now.AddMinutes(-3), now));
        Assert.Equal("in 2h", Text.Relative(now.AddHours(2), now));
    }

    [Fact]
    public void ServerListFromOptionsThenEnvironmentThenDefault()
    {
        Assert.Equal([new Uri("http://a:1"), new Uri("https://b:2")], ServerList.Resolve(["http://a:1,https://b:2", "http://a:1"], "http://env:3"));
        Assert.Equal([new Uri("http://env:3"), new Uri("http://env:4")], ServerList.Resolve([], "http://env:3, http://env:4"));
        Assert.Equal([new Uri("http://127.0.0.1:50077")], ServerList.Resolve(null, null));
    }
}
