using Evacuationd.Core.Records;

namespace Evacuationd.Core.Api;

/// <summary>A request was refused before anything was stored; every problem is named.</summary>
public sealed class RequestValidationException(IReadOnlyList<string> errors)
    : Exception(string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;

    /// <summary>Throws for a missing or invalid host name, naming it.</summary>
    public static void RequireHostName(string? host)
    {
        if (RecordIds.HostNameProblem(host) is { } problem)
        {
            throw new RequestValidationException([problem]);
        }
    }

    /// <summary>A value from a request as it may appear in an answer: long ones are cut.</summary>
    public static string Shown(string value) => RecordIds.Shown(value);
}

/// <summary>The thing a request names does not exist.</summary>
public sealed class NotFoundException(string message) : Exception(message);
