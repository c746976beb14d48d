namespace Evacuationd.Server.Configuration;

/// <summary>Bad configuration: every problem, each naming its key.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> errors) : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
