using System.Globalization;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Output;

/// <summary>The live daemons, their lease, and how many records each owns.</summary>
internal static class DaemonOutput
{
    public static void WriteList(OutputContext output, IReadOnlyCollection<Daemon> daemons)
    {
        if (output.Json)
        {
            JsonOutput.WriteArray(output.Writer, daemons);
            return;
        }

        if (daemons.Count == 0)
        {
            output.Writer.WriteLine("no live daemon");
            return;
        }

        var now = output.Clock.GetUtcNow();
        var table = new Table("DAEMON", "ADDRESS", "LEASE", "LEASE-EXPIRES", "OWNED", "STARTED", "VERSION");
        foreach (var d in daemons)
        {
            var expires = d.LeaseExpiresAt is null
                ? Text.Missing
                : $"{Text.Utc(d.LeaseExpiresAt)} ({Text.Relative(d.LeaseExpiresAt.ToDateTimeOffset(), now)})";
            table.Add(
                d.Id,
                Text.OrDash(d.Address),
                d.LeaseId.ToString("x", CultureInfo.InvariantCulture),
                expires,
                Text.Number(d.OwnedRecords),
                Text.Utc(d.StartedAt),
                Text.OrDash(d.Version));
        }

        table.Write(output.Writer, output.Style);
    }
}
