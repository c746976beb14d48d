using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Output;

/// <summary>Hosts with a fencing/evacuation state.</summary>
internal static class HostOutput
{
    public const string HeldHint = "Held, waiting for an operator (`evacctl confirm HOST` lets one go on, `evacctl resume` all):";

    public static string StateName(Host host) =>
        host.StateName.Length > 0 ? host.StateName : Text.EnumName(host.State);

    /// <summary>
    /// The hosts table; below it, on a table output, every held host with its whole reason
    /// (the table cuts reasons on a terminal, and a held host's reason says what to do).
    /// </summary>
    public static void WriteList(OutputContext output, IReadOnlyCollection<Host> hosts)
    {
        if (output.Json)
        {
            JsonOutput.WriteArray(output.Writer, hosts);
            return;
        }

        if (hosts.Count == 0)
        {
            output.Writer.WriteLine("no host has been fenced");
            return;
        }

        WriteTable(output, hosts);
        var held = hosts.Where(h => h.State == HostState.Held).ToList();
        if (held.Count == 0)
        {
            return;
        }

        output.Writer.WriteLine();
        output.Writer.WriteLine(HeldHint);
        var table = new Table("HOST", "REASON");
        foreach (var h in held)
        {
            table.Add("  " + h.Name, Text.OrDash(h.Reason.ReplaceLineEndings(" ")));
        }

        table.Write(output.Writer, output.Style, withHeader: false);
    }

    /// <summary>confirm: the host as the daemon answered it, after a sentence saying what happened.</summary>
    public static void WriteConfirmed(OutputContext output, Host host) =>
        WriteOne(output, host, $"{host.Name} confirmed: its evacuation goes on (fencing {Text.OrDash(host.EvacuationId)} is now {StateName(host)})");

    /// <summary>release-host: the host as the daemon answered it, after a sentence saying what happened.</summary>
    public static void WriteReleased(OutputContext output, Host host) =>
        WriteOne(output, host, host.State == HostState.Released
            ? $"{host.Name} is back in service: forced_down cleared, nova-compute enabled (fencing {Text.OrDash(host.EvacuationId)} is released)"
            : $"release of {host.Name} answered: fencing {Text.OrDash(host.EvacuationId)} is {StateName(host)}");

    private static void WriteOne(OutputContext output, Host host, string sentence)
    {
        if (output.Json)
        {
            JsonOutput.WriteObject(output.Writer, host);
            return;
        }

        output.Writer.WriteLine(sentence);
        output.Writer.WriteLine();
        WriteTable(output, [host]);
    }

    private static void WriteTable(OutputContext output, IEnumerable<Host> hosts)
    {
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
}
