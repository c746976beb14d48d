namespace Evacuationd.Core.Api;

/// <summary>A request was refused before anything was stored; every problem is named.</summary>
public sealed class RequestValidationException(IReadOnlyList<string> errors)
    : Exception(string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>The thing a request names does not exist.</summary>
public sealed class NotFoundException(string message) : Exception(message);
