using Evacuationd.Core.Compute;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Tests.Support;

/// <summary>
/// A tiny model of Nova for one instance on the fenced host: evacuate calls create migrations
/// that move through Nova's observable phases on the clock, including the window where the
/// server is ACTIVE with task_state null while its host is still the fenced one (FACTS).
/// It counts what a real Nova would have accepted, and calls accepted while an earlier
/// evacuation was still in flight (which breaks a real instance).
/// </summary>
internal sealed class FakeNova(Func<int, FakeNova.Delivery> delivery, Func<int, FakeNova.Fate> fate)
{
    public enum Delivery
    {
        /// <summary>Nova accepts the call and the answer comes back.</summary>
        Answered,
        /// <summary>Nova accepts the call, the answer is lost (timeout): outcome unknown.</summary>
        AnswerLost,
        /// <summary>The call never reaches Nova: outcome unknown.</summary>
        NeverArrives,
    }

    public enum Fate
    {
        Rebuilt,
        /// <summary>The conductor fails it (NoValidHost): migration 'error'.</summary>
        FailsInConductor,
    }

    /// <summary>Length of one phase of an evacuation.</summary>
    public static readonly TimeSpan Phase = TimeSpan.FromSeconds(1);

    private sealed record Evacuation(long Id, DateTimeOffset At, Fate Fate)
    {
        public int PhaseAt(DateTimeOffset now) => (int)((now - At) / FakeNova.Phase);

        public bool EndedAt(DateTimeOffset now) => PhaseAt(now) >= (Fate == Fate.Rebuilt ? 4 : 1);
    }

    private readonly List<Evacuation> _evacuations = [];
    private readonly List<MigrationView> _older = [new(5, "completed", Build.Source, "compute-03", Build.T0.AddDays(-3), Build.T0.AddDays(-3))];
    private long _nextId = 6;

    public int Calls { get; private set; }

    public int Accepted { get; private set; }

    public int AcceptedWhileInFlight { get; private set; }

    /// <summary>True while any evacuation Nova accepted has not ended.</summary>
    public bool InFlight(DateTimeOffset now) => _evacuations.Any(e => !e.EndedAt(now));

    public EvacuateOutcome Evacuate(DateTimeOffset now)
    {
        Calls++;
        var how = delivery(Calls);
        if (how == Delivery.NeverArrives)
        {
            return EvacuateOutcome.Unknown("connection reset before the request was sent");
        }
        if (InFlight(now))
        {
            AcceptedWhileInFlight++;
        }
        Accepted++;
        _evacuations.Add(new Evacuation(_nextId++, now, fate(Accepted)));
        return how == Delivery.Answered ? EvacuateOutcome.Accepted($"req-{Calls}") : EvacuateOutcome.Unknown("timeout after 30 s");
    }

    public InstanceObservation Observe(DateTimeOffset now)
    {
        var migrations = _older.Concat(_evacuations.Select(e => new MigrationView(e.Id, Status(e, now), Build.Source, Build.Dest, e.At, now)));
        return Build.Nova(Server(now), migrations.ToArray());
    }

    private static string Status(Evacuation e, DateTimeOffset now)
    {
        var phase = e.PhaseAt(now);
        return e.Fate == Fate.FailsInConductor
            ? phase < 1 ? "accepted" : "error"
            : phase switch { < 1 => "accepted", < 3 => "pre-migrating", _ => "done" };
    }

    private ServerView Server(DateTimeOffset now)
    {
        if (_evacuations.Count == 0)
        {
            return Build.Server();
        }
        var latest = _evacuations[^1];
        var phase = latest.PhaseAt(now);
        if (latest.Fate == Fate.FailsInConductor)
        {
            return phase < 1 ? Build.Server(task: "rebuilding") : Build.Server(fault: "No valid host was found.");
        }
        return phase switch
        {
            < 1 => Build.Server(task: "rebuilding"),
            < 2 => Build.Server(task: "rebuild_spawning"),
            < 4 => Build.Server(task: null), // ACTIVE, task cleared, still on the fenced host
            _ => Build.Server(host: Build.Dest),
        };
    }
}
