namespace Evacuationd.Cli.Connection;

/// <summary>The daemon URLs to try, in order.</summary>
internal static class ServerList
{
    public const string EnvironmentVariable = "EVACCTL_SERVER";

    /// <summary>The daemon's <c>dev</c> mode default.</summary>
    public const string DefaultServer = "http://127.0.0.1:50077";

    /// <summary>
    /// --server values (repeatable, each possibly comma separated); else EVACCTL_SERVER
    /// (comma separated); else the dev default. Throws <see cref="UsageException"/> for a value
    /// that is not an absolute http(s) URL.
    /// </summary>
    public static IReadOnlyList<Uri> Resolve(IEnumerable<string>? options, string? environment)
    {
        var given = Split(options ?? []);
        if (given.Count == 0 && environment is not null)
        {
            given = Split([environment]);
        }

        if (given.Count == 0)
        {
            given = [DefaultServer];
        }

        var servers = new List<Uri>();
        foreach (var text in given)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || string.IsNullOrEmpty(uri.Host))
            {
                throw new UsageException($"--server: '{Shown.Value(text)}' is not an http:// or https:// URL");
            }

            if (!servers.Contains(uri))
            {
                servers.Add(uri);
            }
        }

        return servers;
    }

    private static List<string> Split(IEnumerable<string> values) =>
        values
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();
}
