using Evacuationd.Core.Compute;
using Evacuationd.Core.Records;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Tests.Support;

/// <summary>Records, servers, migrations and decision contexts for one instance on a fenced host.</summary>
internal static class Build
{
    /// <summary>The moment the (current) attempt was recorded; everything else counts from it.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    /// <summary>When the record was planned (a minute before the attempt).</summary>
    public static readonly DateTimeOffset Planned = T0.AddMinutes(-1);

    public const string Source = "compute-01";
    public const string Dest = "compute-02";
    public const string Uuid = "3f2a9c1b-5d4e-4f00-9a1b-0c2d3e4f5a6b";
    public const string Id = "compute-01:1:3f2a9c1b";
    public const string Planner = "daemon-planner";
    public const string Owner = "daemon-a";
    public const string Successor = "daemon-b";

    public static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    public static TimeSpan Min(double minutes) => TimeSpan.FromMinutes(minutes);

    /// <summary>The documented defaults, spelled out so the tests do not move with them.</summary>
    public static WorkflowOptions Options(int maxAttempts = 3, string? target = null) => new()
    {
        MaxAttempts = maxAttempts,
        PollInterval = S(2),
        BackoffBase = S(10),
        BackoffMax = Min(2),
        CallSettle = S(60),
        RebuildTimeout = Min(15),
        TaskStateTimeout = Min(5),
        TargetHost = target,
    };

    /// <summary>A decision at <paramref name="now"/> by a daemon that owns the record since <paramref name="ownedSince"/> (default T0).</summary>
    public static DecisionContext At(DateTimeOffset now, DateTimeOffset? ownedSince = null, WorkflowOptions? options = null, string daemon = Owner) =>
        new(now, daemon, ownedSince ?? T0, options ?? Options());

    public static InstanceRecord Accepted(DateTimeOffset? at = null)
    {
        var t = at ?? Planned;
        const string reason = "planned for fencing compute-01:1 reported by fence-agent";
        return new InstanceRecord
        {
            Id = Id,
            InstanceUuid = Uuid,
            InstanceName = "vm-1",
            SourceHost = Source,
            FenceGeneration = 1,
            State = RecordState.Accepted,
            StateSince = t,
            Reason = reason,
            CreatedAt = t,
            UpdatedAt = t,
            History = [new Transition(t, "", "accepted", reason, Planner)],
        };
    }

    /// <summary>Attempt <paramref name="attempt"/> recorded at <paramref name="at"/> (default T0) with its baseline; the call's fate unknown.</summary>
    public static InstanceRecord Evacuating(int attempt = 1, long baseline = 0, DateTimeOffset? at = null, DateTimeOffset? outcomeUnknownSince = null, bool cancel = false)
    {
        var t = at ?? T0;
        return (Accepted() with
        {
            Attempt = attempt,
            AttemptStartedAt = t,
            BaselineMigrationId = baseline,
            OutcomeUnknownSince = outcomeUnknownSince,
            CancelRequested = cancel,
        }).MoveTo(RecordState.Evacuating, $"attempt {attempt} of 3: evacuating from {Source}", t, Owner);
    }

    /// <summary>Nova accepted attempt <paramref name="attempt"/> (recorded at T0) at <paramref name="since"/> (default T0 + 1 s).</summary>
    public static InstanceRecord Rebuilding(int attempt = 1, long baseline = 0, DateTimeOffset? since = null, bool cancel = false)
    {
        var t = since ?? T0.AddSeconds(1);
        return (Evacuating(attempt, baseline, cancel: cancel) with { AttemptRequestId = "req-1" })
            .MoveTo(RecordState.Rebuilding, $"Nova accepted attempt {attempt} (request req-1)", t, Owner, "req-1");
    }

    /// <summary>Attempt <paramref name="attempt"/> failed in Nova at <paramref name="failedAt"/>; the next one is due at <paramref name="notBefore"/>.</summary>
    public static InstanceRecord Retrying(int attempt, long baseline, DateTimeOffset failedAt, DateTimeOffset notBefore, bool cancel = false) =>
        (Rebuilding(attempt, baseline, cancel: cancel) with { NotBefore = notBefore, Error = "migration error" })
            .MoveTo(RecordState.Retrying, $"attempt {attempt + 1} of 3 not before {notBefore:O}", failedAt, Owner);

    public static ServerView Server(string? host = Source, string vm = "active", string? task = null, string? fault = null) => new()
    {
        Id = Uuid,
        Name = "vm-1",
        Host = host,
        VmState = vm,
        TaskState = task,
        Fault = fault,
        Status = task is not null ? "REBUILD" : vm switch
        {
            "active" => "ACTIVE",
            "stopped" => "SHUTOFF",
            "error" => "ERROR",
            _ => vm.ToUpperInvariant(),
        },
    };

    public static MigrationView Migration(long id, string status, DateTimeOffset? at = null) =>
        new(id, status, Source, Dest, at ?? T0, at ?? T0);

    public static InstanceObservation Nova(ServerView? server, params MigrationView[] migrations) =>
        new(server, migrations.OrderByDescending(m => m.Id).ToList());

    /// <summary>What Nova shows of an instance nobody touched: on the fenced host, older evacuations ended.</summary>
    public static InstanceObservation Untouched(params MigrationView[] history) => Nova(Server(), history);
}

/// <summary>Assertions on steps that say what they got when they fail.</summary>
internal static class Expect
{
    public static InstanceRecord Write(InstanceStep step, RecordState state)
    {
        Assert.True(step is InstanceStep.Write, $"expected a write to {state}, got {step}");
        var next = ((InstanceStep.Write)step).Next;
        Assert.True(next.State == state, $"expected a write to {state}, got {next.State}: {next.Reason}");
        return next;
    }

    public static InstanceRecord Start(InstanceStep step)
    {
        Assert.True(step is InstanceStep.StartAttempt, $"expected a new attempt, got {step}");
        var next = ((InstanceStep.StartAttempt)step).Next;
        Assert.Equal(RecordState.Evacuating, next.State);
        return next;
    }

    public static InstanceStep.Wait Wait(InstanceStep step)
    {
        Assert.True(step is InstanceStep.Wait, $"expected a wait, got {step}");
        return (InstanceStep.Wait)step;
    }

    public static void NotStart(InstanceStep step) =>
        Assert.False(step is InstanceStep.StartAttempt, $"a new evacuate attempt was started while Nova may still run the previous one: {step}");

    /// <summary>Exactly one history entry was added, describing this transition.</summary>
    public static void OneTransition(InstanceRecord before, InstanceRecord after, string from, string to, DateTimeOffset at, string daemon = Build.Owner)
    {
        Assert.Equal(before.History.Count + 1, after.History.Count);
        Assert.Equal(before.History, after.History.Take(before.History.Count));
        var last = after.History[^1];
        Assert.Equal((at, from, to, daemon, after.Attempt), (last.At, last.From, last.To, last.Daemon, last.Attempt));
        Assert.Equal(after.Reason, last.Reason);
        Assert.Equal(at, after.UpdatedAt);
    }
}
