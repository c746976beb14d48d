using System.Diagnostics;
using System.Globalization;

namespace Evacuationd.Chaos;

/// <summary>
/// Where everything runs (scripts/chaos.sh builds it before the run and deletes it after):
/// <list type="table">
/// <item><term>{prefix}hub</term><description>bridge br0 with 10.98.0.254 (evacsim, this harness)
/// and 10.98.0.253 (the three etcd members); the harness runs here.</description></item>
/// <item><term>{prefix}dN</term><description>daemon N alone, eth0 10.98.0.N, the peer of
/// v-dN on the hub's bridge. Its gRPC listens on https://10.98.0.N:50051.</description></item>
/// </list>
/// A partition sets v-dN down (the daemon loses etcd, Nova and its callers); an etcd cut
/// adds a blackhole route to 10.98.0.253 inside {prefix}dN (the daemon still reaches Nova
/// and its callers, not etcd). Nothing is added to the root namespace.
/// </summary>
internal sealed record Topology(string Prefix, int Daemons)
{
    public const string HubAddress = "10.98.0.254";
    public const string EtcdAddress = "10.98.0.253";
    public const int GrpcPort = 50051;

    public string Hub => Prefix + "hub";

    public string DaemonNamespace(int n) => $"{Prefix}d{n.ToString(CultureInfo.InvariantCulture)}";

    public static string HubLink(int n) => $"v-d{n.ToString(CultureInfo.InvariantCulture)}";

    public static string DaemonAddress(int n) => $"10.98.0.{n.ToString(CultureInfo.InvariantCulture)}";

    public static string GrpcUrl(int n) => $"https://{DaemonAddress(n)}:{GrpcPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Daemon N's link to the bridge goes down: cut off from everything.</summary>
    public Task PartitionAsync(int n) => Ip("-n", Hub, "link", "set", HubLink(n), "down");

    public Task HealAsync(int n) => Ip("-n", Hub, "link", "set", HubLink(n), "up");

    /// <summary>Daemon N can no longer reach etcd (packets to etcd's address are dropped); Nova and callers still work.</summary>
    public Task CutEtcdAsync(int n) => Ip("-n", DaemonNamespace(n), "route", "add", "blackhole", EtcdAddress + "/32");

    public Task RestoreEtcdAsync(int n) => Ip("-n", DaemonNamespace(n), "route", "del", "blackhole", EtcdAddress + "/32");

    /// <summary>Checks that the namespaces exist and the harness runs in the hub (it must reach 10.98.0.254).</summary>
    public async Task CheckAsync()
    {
        var list = await Run("ip", "netns", "list");
        foreach (var ns in Enumerable.Range(1, Daemons).Select(DaemonNamespace).Prepend(Hub))
        {
            if (!list.Split('\n').Any(l => l.Split(' ')[0] == ns))
            {
                throw new InvalidOperationException($"network namespace {ns} does not exist: run the harness through scripts/chaos.sh");
            }
        }
        var addresses = await Run("ip", "-o", "addr", "show");
        if (!addresses.Contains(HubAddress, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"this process does not run in {Hub} (no {HubAddress} here): run it with `ip netns exec {Hub}` (scripts/chaos.sh does)");
        }
    }

    private static async Task Ip(params string[] args) => await Run("ip", args);

    private static async Task<string> Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not run {program}");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({p.ExitCode}): {(await error).Trim()}");
        }
        return await output;
    }
}
