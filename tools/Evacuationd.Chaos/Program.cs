namespace Evacuationd.Chaos;

/// <summary>
/// evacuationd-chaos: the reliability suite (scripts/chaos.sh runs it). Exit 0 when every
/// check passed, 1 when one failed, 2 on a usage error, 3 when the run itself broke.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--help"))
        {
            Console.WriteLine(ChaosOptions.Usage);
            return 0;
        }
        ChaosOptions options;
        try
        {
            options = ChaosOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"evacuationd-chaos: {e.Message}\n{ChaosOptions.Usage}");
            return 2;
        }
        if (options.PrintPlan)
        {
            var timings = new Timings();
            Console.Write(Plan.Create(options, timings, ChaosRun.BurstSize(timings)).Describe());
            return 0;
        }
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        try
        {
            return await ChaosRun.RunAsync(options, cts.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ChaosRun.Say($"the run broke: {e}");
            return 3;
        }
    }
}
