using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Evacuationd.Server.Tests.Security;

/// <summary>A logger provider that keeps every entry, to assert on what the endpoint logged.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public sealed record Entry(string Category, LogLevel Level, EventId EventId, string Message);

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>
    /// Waits until an entry matches, woken by each new entry (a log line may trail the client's
    /// error: the server logs after it answered). Fails after <paramref name="timeout"/>.
    /// </summary>
    public async Task<Entry> WaitForAsync(Func<Entry, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task added;
            lock (_gate)
            {
                added = _added.Task;
            }
            if (_entries.FirstOrDefault(match) is { } found)
            {
                return found;
            }
            try
            {
                await added.WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching log entry within {timeout.TotalSeconds:0} s");
            }
        }
    }

    private void Add(Entry entry)
    {
        _entries.Enqueue(entry);
        TaskCompletionSource added;
        lock (_gate)
        {
            added = _added;
            _added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        added.TrySetResult();
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(new Entry(category, logLevel, eventId, formatter(state, exception)));
    }
}
