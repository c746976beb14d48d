using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Output;

/// <summary>Answers of fence, retry, cancel, hold and resume.</summary>
internal static class ActionOutput
{
    /// <summary>What a global hold does, for the operator who just asked for it.</summary>
    public const string HoldEffect =
        "new fencings are held and no new evacuation attempt starts; attempts already in Nova are followed to the end. `evacctl resume` ends the hold";

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

    /// <summary>
    /// retry / cancel: the daemon stored the request and answered the record as it is now; the
    /// daemon owning the record applies the request. Table: that sentence, then the record row.
    /// JSON: the record as the daemon answered it.
    /// </summary>
    public static void WriteRecordRequest(OutputContext output, string action, Record record)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, record);
            return;
        }

        output.Writer.WriteLine(RequestSentence(action, record));
        output.Writer.WriteLine();
        RecordOutput.WriteList(output, [record]);
    }

    /// <summary>"retry requested for ID (now failed); the daemon owning it applies it".</summary>
    public static string RequestSentence(string action, Record record)
    {
        var owner = record.Owner.Length > 0 ? $" ({record.Owner})" : string.Empty;
        var sentence = $"{action} requested for {record.Id} (now {RecordOutput.StateName(record)}); the daemon owning it{owner} applies it";
        if (action == "cancel" && record.State is RecordState.Evacuating or RecordState.Rebuilding)
        {
            sentence += " once no attempt is in flight";
        }

        return sentence;
    }

    public static void WriteHold(OutputContext output, HoldResponse response)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, response);
            return;
        }

        var fields = new List<(string, Cell)> { State(response), ("Reason", response.Reason) };
        if (response.Held)
        {
            fields.Add(("Effect", HoldEffect));
        }

        output.WriteFields(fields);
    }

    /// <summary>resume: the daemon's result names the held hosts it let go on.</summary>
    public static void WriteResume(OutputContext output, HoldResponse response)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, response);
            return;
        }

        output.WriteFields([State(response), ("Result", response.Reason)]);
    }

    private static (string, Cell) State(HoldResponse response) =>
        ("Automatic evacuation", response.Held ? new Cell("held", Colour.Yellow) : new Cell("running", Colour.Green));
}
