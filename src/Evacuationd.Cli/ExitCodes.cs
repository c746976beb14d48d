namespace Evacuationd.Cli;

/// <summary>evacctl's exit codes (fixed by the product brief).</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>A daemon answered, but the operation failed (or a watched record ended failed).</summary>
    public const int Failed = 1;

    /// <summary>Bad command line: unknown command or option, missing argument, bad value.</summary>
    public const int Usage = 2;

    /// <summary>No daemon could be reached.</summary>
    public const int Unreachable = 3;
}
