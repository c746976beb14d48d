using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Evacuationd.Bench;

/// <summary>
/// In-process allocation sampling (--alloc-types): the runtime's GCAllocationTick event fires
/// about every 100 KB allocated and names the type of the object that crossed the mark, so the
/// sums per type approximate where this process's bytes go. No call stacks, no extra tools.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int GcAllocationTick = 10;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private volatile bool _recording;

    public void Start()
    {
        _bytes.Clear();
        _recording = true;
    }

    /// <summary>Stops and returns the sampled bytes per type, largest first.</summary>
    public IReadOnlyList<(string Type, long Bytes)> Stop()
    {
        _recording = false;
        return _bytes.OrderByDescending(kv => kv.Value).Select(kv => (kv.Key, kv.Value)).ToList();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventId != GcAllocationTick || eventData.PayloadNames is null || eventData.Payload is null)
        {
            return;
        }
        var type = "?";
        long amount = 0;
        for (var i = 0; i < eventData.PayloadNames.Count; i++)
        {
            switch (eventData.PayloadNames[i])
            {
                case "TypeName":
                    type = eventData.Payload[i] as string ?? "?";
                    break;
                case "AllocationAmount64":
                    amount = Convert.ToInt64(eventData.Payload[i], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "AllocationAmount" when amount == 0:
                    amount = Convert.ToInt64(eventData.Payload[i], System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }
        _bytes.AddOrUpdate(type, amount, (_, b) => b + amount);
    }
}
