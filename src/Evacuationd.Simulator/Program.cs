using System.Runtime.InteropServices;

namespace Evacuationd.Simulator;

/// <summary>evacsim: a simulated OpenStack cloud (Keystone v3 + a Nova subset + a sliver of Glance).</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var parsed = CommandLine.Parse(args);
        if (parsed.ShowHelp)
        {
            Console.WriteLine(CommandLine.Usage);
            return 0;
        }

        if (parsed.Options is null)
        {
            await Console.Error.WriteLineAsync($"evacsim: error: {parsed.Error}\n{CommandLine.Usage}").ConfigureAwait(false);
            return 2;
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            stop.TrySetResult();
        }

        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        RunningSimulator sim;
        try
        {
            sim = await SimulatorHost.StartAsync(parsed.Options).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"evacsim: error: cannot listen on {parsed.Options.Listen}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (sim.ConfigureAwait(false))
        {
            var o = parsed.Options;
            Console.WriteLine($"evacsim listening on {sim.BaseUrl}");
            Console.WriteLine($"identity: {sim.IdentityUrl}");
            Console.WriteLine($"compute: {sim.ComputeUrl} ({o.Hosts} hosts x {o.InstancesPerHost} instances, rebuild {o.Rebuild.TotalMilliseconds} ms)");
            foreach (var fault in o.Faults)
            {
                Console.WriteLine($"fault: {fault}");
            }

            await stop.Task.ConfigureAwait(false);
            Console.WriteLine("evacsim: stopping");
        }

        return 0;
    }
}
