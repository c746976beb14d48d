using Evacuationd.Cli.Output;
using Evacuationd.Contracts.V1;

namespace Evacuationd.Cli.Watch;

/// <summary>One RecordEvent per line, as protobuf JSON, exactly as the daemon sent it.</summary>
internal sealed class JsonLinesSink(TextWriter writer) : IWatchSink
{
    public void Event(RecordEvent e, bool isNew)
    {
        JsonOutput.WriteLine(writer, e);
        writer.Flush();
    }

    public void End(WatchSummary summary) => writer.Flush();
}
