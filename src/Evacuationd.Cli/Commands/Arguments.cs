using System.CommandLine;

namespace Evacuationd.Cli.Commands;

/// <summary>Options and arguments used by several commands.</summary>
internal static class Arguments
{
    public static Argument<string> Host(string description = "Compute host name as Nova knows it") => new("HOST")
    {
        Description = description,
    };

    public static Argument<string> RecordId() => new("ID")
    {
        Description = "Record id (e.g. compute-01:1:3f2a9c1b)",
    };

    public static Option<string> Reason(string description = "Why (recorded in the history)") => new("--reason")
    {
        Description = description,
        HelpName = "TEXT",
    };

    public static Option<string> HostFilter() => new("--host")
    {
        Description = "Only this compute host",
        HelpName = "HOST",
    };
}
