using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Output;

/// <summary>Answers of fence, hold and resume.</summary>
internal static class ActionOutput
{
    public static void WriteFence(OutputContext output, ReportFencedResponse response)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, response);
            return;
        }

        var outcome = Text.EnumName(response.Outcome);
        var fields = new List<(string, Cell)>
        {
            ("Evacuation", response.EvacuationId),
            ("Generation", Text.Number(response.FenceGeneration)),
            ("Outcome", new Cell(outcome, response.Outcome == FenceOutcome.Stale ? Colour.Yellow : Colour.Green)),
            ("Message", response.Message),
        };
        if (response.Host is { } host)
        {
            fields.Add(("Host state", $"{host.Name} {HostOutput.StateName(host)}"));
        }

        output.WriteFields(fields);
    }

    public static void WriteHold(OutputContext output, HoldResponse response)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, response);
            return;
        }

        output.WriteFields(
        [
            ("Automatic evacuation", response.Held ? new Cell("held", Colour.Yellow) : new Cell("running", Colour.Green)),
            ("Reason", response.Reason),
        ]);
    }
}
