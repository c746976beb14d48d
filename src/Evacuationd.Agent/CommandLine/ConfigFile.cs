using System.Text.Json;
using Evacuationd.Cli;

namespace Evacuationd.Agent.CommandLine;

/// <summary>
/// <c>--config FILE</c>: a JSON object (comments and trailing commas allowed) whose keys are
/// the long options without their dashes (<c>"host"</c>, <c>"server"</c>, <c>"check-timeout"</c>,
/// ...). Command-line options win over the file. Relative file names in it (ca, cert, key)
/// are relative to the file's directory. One file serves both <c>run</c> and
/// <c>gate</c>: each takes the keys it knows and ignores the other's.
/// </summary>
internal sealed class ConfigFile
{
    private readonly Dictionary<string, JsonElement> values;

    private ConfigFile(string path, Dictionary<string, JsonElement> values)
    {
        Path = path;
        this.values = values;
    }

    public string Path { get; }

    /// <summary>Reads and parses the file; throws <see cref="UsageException"/> naming the problem (or every unknown key).</summary>
    public static ConfigFile Load(string path, IReadOnlyCollection<string> knownKeys)
    {
        ArgumentNullException.ThrowIfNull(knownKeys);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"--config: cannot read {Shown.Value(path)}: {Shown.Line(e.Message)}");
        }

        Dictionary<string, JsonElement> values;
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new UsageException($"--config: {Shown.Value(path)} must hold a JSON object ({{\"host\": ..., \"server\": [...]}}), not {document.RootElement.ValueKind}");
            }

            values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                // JSON allows a key twice; which one would win is a guess: refuse it.
                if (!values.TryAdd(property.Name, property.Value.Clone()))
                {
                    throw new UsageException($"--config: {Shown.Value(path)}: the key \"{Shown.Value(property.Name)}\" is given twice");
                }
            }
        }
        catch (JsonException e)
        {
            throw new UsageException($"--config: {Shown.Value(path)} is not valid JSON: {Shown.Line(e.Message)}");
        }

        var unknown = values.Keys.Where(k => !knownKeys.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"--config: {Shown.Value(path)}: unknown key(s) {string.Join(", ", unknown.Take(10).Select(k => $"\"{Shown.Value(k)}\""))}{(unknown.Count > 10 ? $" and {unknown.Count - 10} more" : "")}; known: {string.Join(", ", knownKeys)}");
        }

        return new ConfigFile(path, values);
    }

    public bool TryGet(string key, out JsonElement value) => values.TryGetValue(key, out value);

    /// <summary>A file name from the file, made absolute against the file's directory.</summary>
    public string ResolvePath(string name)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".";
        return System.IO.Path.IsPathRooted(name) ? name : System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, name));
    }
}
