using System.Diagnostics;
using System.Globalization;
using Evacuationd.Testing.Etcd;

namespace Evacuationd.Bench;

internal static class Stats
{
    /// <summary>The 1-minute load average (/proc/loadavg), NaN when unreadable: other work on the machine skews every figure.</summary>
    public static double Load1()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>Nearest-rank percentile (0..100).</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var s = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100 * s.Count);
        return s[Math.Clamp(rank - 1, 0, s.Count - 1)];
    }
}

/// <summary>Counters read from outside the engine: etcd's /metrics and the CPU time of the processes.</summary>
internal sealed record Counters(
    double Txn,
    double Range,
    double Fsyncs,
    double FsyncSeconds,
    TimeSpan BenchCpu,
    TimeSpan EtcdCpu,
    long Allocated,
    int Gen0,
    int Gen1,
    int Gen2)
{
    public static async Task<Counters> ReadAsync(EtcdCluster cluster, HttpClient http, CancellationToken ct)
    {
        double txn = 0, range = 0, fsyncs = 0, fsyncSeconds = 0;
        foreach (var m in cluster.Members)
        {
            var text = await http.GetStringAsync(new Uri(m.ClientUrl + "/metrics"), ct);
            var metrics = Parse(text);
            // RPCs are counted by the member that received them (followers forward to the leader)
            txn += metrics.Sum(x => x.Name == "grpc_server_handled_total" && x.Labels.Contains("grpc_method=\"Txn\"", StringComparison.Ordinal) ? x.Value : 0);
            range += metrics.Sum(x => x.Name == "grpc_server_handled_total" && x.Labels.Contains("grpc_method=\"Range\"", StringComparison.Ordinal) ? x.Value : 0);
            // every member fsyncs its own WAL: report the busiest one
            fsyncs = Math.Max(fsyncs, metrics.Sum(x => x.Name == "etcd_disk_wal_fsync_duration_seconds_count" ? x.Value : 0));
            fsyncSeconds = Math.Max(fsyncSeconds, metrics.Sum(x => x.Name == "etcd_disk_wal_fsync_duration_seconds_sum" ? x.Value : 0));
        }
        using var self = Process.GetCurrentProcess();
        var etcdCpu = TimeSpan.Zero;
        foreach (var m in cluster.Members)
        {
            etcdCpu += ProcessCpu(m.Pid);
        }
        return new Counters(txn, range, fsyncs, fsyncSeconds, self.TotalProcessorTime, etcdCpu,
            GC.GetTotalAllocatedBytes(precise: false), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    }

    public static Counters operator -(Counters a, Counters b) => new(
        a.Txn - b.Txn, a.Range - b.Range, a.Fsyncs - b.Fsyncs, a.FsyncSeconds - b.FsyncSeconds, a.BenchCpu - b.BenchCpu, a.EtcdCpu - b.EtcdCpu,
        a.Allocated - b.Allocated, a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2);

    private static List<(string Name, string Labels, double Value)> Parse(string text)
    {
        var list = new List<(string, string, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var space = line.LastIndexOf(' ');
            if (space < 0 || !double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                continue;
            }
            var head = line[..space];
            var brace = head.IndexOf('{', StringComparison.Ordinal);
            list.Add(brace < 0 ? (head, "", v) : (head[..brace], head[brace..], v));
        }
        return list;
    }

    /// <summary>utime + stime of a process from /proc (Linux, USER_HZ 100); zero when unreadable.</summary>
    internal static TimeSpan ProcessCpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime is field 14, stime field 15
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }
}
