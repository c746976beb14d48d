using Evacuationd.Core.Compute;

namespace Evacuationd.Core.Workflow;

/// <summary>What Nova shows of one instance right now: the input of every decision.</summary>
/// <param name="Server">The server, or null when Nova says it does not exist.</param>
/// <param name="Migrations">The instance's evacuation migrations, newest first.</param>
public sealed record InstanceObservation(ServerView? Server, IReadOnlyList<MigrationView> Migrations)
{
    public long NewestMigrationId => Migrations.Count == 0 ? 0 : Migrations.Max(m => m.Id);

    /// <summary>Migrations newer than <paramref name="baseline"/>, newest first.</summary>
    public IReadOnlyList<MigrationView> Since(long baseline) =>
        Migrations.Where(m => m.Id > baseline).OrderByDescending(m => m.Id).ToList();
}

/// <summary>Who decides, and when.</summary>
/// <param name="Now">The decision time (from the injected TimeProvider).</param>
/// <param name="Daemon">The deciding daemon, written into history.</param>
/// <param name="OwnedSince">When the deciding daemon claimed the record.</param>
public sealed record DecisionContext(DateTimeOffset Now, string Daemon, DateTimeOffset OwnedSince, WorkflowOptions Options);
