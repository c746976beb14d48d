using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Output;

/// <summary>Hosts with a fencing/evacuation state.</summary>
internal static class HostOutput
{
    public static string StateName(Host host) =>
        host.StateName.Length > 0 ? host.StateName : Text.EnumName(host.State);

    public static void WriteList(OutputContext output, IReadOnlyCollection<Host> hosts)
    {
        if (output.Json)
        {
            JsonOutput.WriteArray(output.Writer, hosts);
            return;
        }

        var table = new Table("HOST", "GEN", "STATE", "SOURCE", "FENCED", "TOTAL", "DONE", "IN-FLIGHT", "FAILED", "SKIPPED", "REASON");
        foreach (var h in hosts)
        {
            var state = StateName(h);
            var counts = h.Counts ?? new RecordCounts();
            table.Add(
                h.Name,
                Text.Number(h.FenceGeneration),
                new Cell(state, Style.ForState(state)),
                Text.EnumName(h.Source),
                Text.Utc(h.FencedAt),
                Text.Number(counts.Total),
                Text.Number(counts.Done),
                Text.Number(counts.InFlight),
                new Cell(Text.Number(counts.Failed), counts.Failed > 0 ? Colour.Red : Colour.None),
                Text.Number(counts.Skipped),
                output.Reason(h.Reason));
        }

        table.Write(output.Writer, output.Style);
    }

    /// <summary>A single host (answer of confirm / release-host).</summary>
    public static void WriteOne(OutputContext output, Host host)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, host);
            return;
        }

        WriteList(output, [host]);
    }
}
