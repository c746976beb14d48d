using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Evacuationd.Agent.Adapters;

/// <summary>How a child process ended: its exit code (null when it was killed at the timeout), and what it printed (bounded).</summary>
internal sealed record ProcessOutcome(int? ExitCode, bool TimedOut, string Stdout, string Stderr, TimeSpan Duration);

/// <summary>The program could not be started at all (not found, not executable).</summary>
internal sealed class ProcessStartException(string program, Exception inner)
    : Exception($"cannot run '{program}': {inner.Message}", inner)
{
    public string Program { get; } = program;
}

/// <summary>
/// Runs a program with a timeout on a <see cref="TimeProvider"/>: the program and its
/// children are killed when the timeout passes (or the caller cancels). Standard input is
/// closed at once; standard output and error are read to their end, keeping only the last
/// <see cref="MaxCapturedChars"/> characters of each.
/// </summary>
internal sealed class ProcessRunner(TimeProvider clock)
{
    public const int MaxCapturedChars = 16 * 1024;

    public async Task<ProcessOutcome> RunAsync(
        string program,
        IReadOnlyList<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        // The start time is taken before the timeout is armed: a duration never misses time the timeout counted.
        var began = clock.GetTimestamp();
        using var timer = new CancellationTokenSource(timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        cancellationToken.ThrowIfCancellationRequested();
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new ProcessStartException(program, e);
        }

        process.StandardInput.Close();
        var stdout = new BoundedText(MaxCapturedChars);
        var stderr = new BoundedText(MaxCapturedChars);
        var reading = Task.WhenAll(stdout.ReadAllAsync(process.StandardOutput), stderr.ReadAllAsync(process.StandardError));
        try
        {
            // Exit and end of output both count against the timeout: a child left behind
            // holding the pipes open is no excuse to wait forever.
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            await reading.WaitAsync(linked.Token).ConfigureAwait(false);
            return new ProcessOutcome(process.ExitCode, false, stdout.Text, stderr.Text, clock.GetElapsedTime(began));
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return new ProcessOutcome(null, true, stdout.Text, stderr.Text, clock.GetElapsedTime(began));
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited just now.
        }
        catch (Win32Exception)
        {
            // Could not be killed (gone, or not ours any more): nothing else to do.
        }
    }

    /// <summary>The last <c>max</c> characters of a stream, read to its end.</summary>
    private sealed class BoundedText(int max)
    {
        private readonly StringBuilder text = new();
        private readonly object gate = new();

        public string Text
        {
            get
            {
                lock (gate)
                {
                    return text.ToString();
                }
            }
        }

        public async Task ReadAllAsync(StreamReader reader)
        {
            var buffer = new char[4096];
            int read;
            while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                lock (gate)
                {
                    text.Append(buffer, 0, read);
                    if (text.Length > max)
                    {
                        text.Remove(0, text.Length - max);
                    }
                }
            }
        }
    }
}
