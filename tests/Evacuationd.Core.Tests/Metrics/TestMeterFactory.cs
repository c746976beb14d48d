using System.Diagnostics.Metrics;

namespace Evacuationd.Core.Tests.Metrics;

/// <summary>A meter factory of its own per test: its meters are disposed with it and seen by nobody else.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }
        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var m in _meters)
            {
                m.Dispose();
            }
            _meters.Clear();
        }
    }
}
