using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>One RecordEvent per line, as protobuf JSON, exactly as the daemon sent it; notices go to stderr.</summary>
internal sealed class JsonLinesSink(TextWriter writer, TextWriter error) : IWatchSink
{
    public Task<WatchSummary> RunAsync(Func<Task<WatchSummary>> watch) => watch();

    public void Event(RecordEvent e, bool isNew)
    {
        JsonOutput.WriteLine(writer, e);
        writer.Flush();
    }

    public Task NoticeAsync(string message) => error.WriteLineAsync(message);

    public void End(WatchSummary summary) => writer.Flush();
}
