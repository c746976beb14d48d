namespace Evacuationd.Simulator.Model;

/// <summary>An error the simulated API answers with: HTTP status, Nova's JSON key and message.</summary>
public sealed record SimError(int Status, string Key, string Message)
{
    public static SimError BadRequest(string message) => new(400, "badRequest", message);

    public static SimError NotFound(string message) => new(404, "itemNotFound", message);

    public static SimError Conflict(string message) => new(409, "conflictingRequest", message);

    public static SimError Forbidden(string message) => new(403, "forbidden", message);
}

/// <summary>Either a value or a <see cref="SimError"/>.</summary>
public sealed record SimOutcome<T>(T? Value, SimError? Error)
{
    public bool Ok => Error is null;

    public static implicit operator SimOutcome<T>(SimError error) => new(default, error);
}

/// <summary>Factory of successful <see cref="SimOutcome{T}"/>.</summary>
public static class SimOutcome
{
    public static SimOutcome<T> Success<T>(T value) => new(value, null);
}
