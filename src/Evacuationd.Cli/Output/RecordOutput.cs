using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Output;

/// <summary>Evacuation records: the list table, and the detail view with its history.</summary>
internal static class RecordOutput
{
    public static string StateName(Record record) =>
        record.StateName.Length > 0 ? record.StateName : Text.EnumName(record.State);

    public static string Attempt(Record record) =>
        record.MaxAttempts > 0 ? $"{record.Attempt}/{record.MaxAttempts}" : $"{record.Attempt}";

    public static string ShortUuid(string uuid) => uuid.Length > 8 ? uuid[..8] : Text.OrDash(uuid);

    public static void WriteList(OutputContext output, IReadOnlyCollection<Record> records)
    {
        if (output.Json)
        {
            JsonOutput.WriteArray(output.Writer, records);
            return;
        }

        if (records.Count == 0)
        {
            output.Writer.WriteLine("no record matches");
            return;
        }

        var table = new Table("ID", "INSTANCE", "UUID", "FROM", "TO", "STATE", "ATTEMPT", "OWNER", "REASON");
        foreach (var r in records)
        {
            var state = StateName(r);
            table.Add(
                r.Id,
                Text.OrDash(r.InstanceName),
                ShortUuid(r.InstanceUuid),
                Text.OrDash(r.SourceHost),
                Text.OrDash(r.DestinationHost),
                new Cell(state, Style.ForState(state)),
                Attempt(r),
                Text.OrDash(r.Owner),
                output.Reason(r.Reason));
        }

        table.Write(output.Writer, output.Style);
    }

    public static void WriteDetail(OutputContext output, Record r)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, r);
            return;
        }

        var state = StateName(r);
        output.WriteFields(
        [
            ("Id", r.Id),
            ("Instance", $"{Text.OrDash(r.InstanceName)} ({Text.OrDash(r.InstanceUuid)})"),
            ("Evacuation", $"{Text.OrDash(r.EvacuationId)} (generation {r.FenceGeneration})"),
            ("State", new Cell(state, Style.ForState(state))),
            ("Source host", r.SourceHost),
            ("Destination", r.DestinationHost),
            ("Requested destination", r.RequestedDestination),
            ("Attempt", Attempt(r)),
            ("Attempt started", Text.Utc(r.AttemptStartedAt)),
            ("Attempt request id", r.AttemptRequestId),
            ("Baseline migration", r.BaselineMigrationId == 0 ? string.Empty : Text.Number(r.BaselineMigrationId)),
            ("Not before", Text.Utc(r.NotBefore)),
            ("Reason", r.Reason),
            ("Error", r.Error),
            ("Owner", r.Owner),
            ("Cancel requested", r.CancelRequested ? "yes" : "no"),
            ("Priority", Text.Number(r.Priority)),
            ("Created", Text.Utc(r.CreatedAt)),
            ("Updated", Text.Utc(r.UpdatedAt)),
            ("Revision", Text.Number(r.Revision)),
        ]);

        output.Writer.WriteLine();
        output.Writer.WriteLine("History:");
        WriteHistory(output, r.History);
    }

    public static void WriteHistory(OutputContext output, IEnumerable<Transition> history)
    {
        var table = new Table("TIME", "TRANSITION", "DAEMON", "ATTEMPT", "REQUEST-ID", "REASON");
        foreach (var t in history)
        {
            table.Add(
                Text.Utc(t.At),
                new Cell($"{Text.OrDash(t.From)} -> {Text.OrDash(t.To)}", Style.ForState(t.To)),
                Text.OrDash(t.Daemon),
                Text.Number(t.Attempt),
                Text.OrDash(t.RequestId),
                Text.OrDash(t.Reason.ReplaceLineEndings(" ")));
        }

        if (table.Count == 0)
        {
            output.Writer.WriteLine("(no history)");
            return;
        }

        table.Write(output.Writer, output.Style);
    }
}
