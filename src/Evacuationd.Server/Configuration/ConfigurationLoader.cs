using Microsoft.Extensions.Configuration;

namespace Evacuationd.Server.Configuration;

/// <summary>
/// evacuationd's configuration, lowest precedence first: appsettings.json beside the
/// binary, <c>--config FILE</c> (JSON), environment variables <c>EVACUATIOND__Section__Key</c>,
/// command-line <c>--Section:Key=value</c>.
/// </summary>
internal static class ConfigurationLoader
{
    public static IConfigurationRoot Load(IReadOnlyList<string> args)
    {
        var builder = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false);
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a is "--config" or "-c" || a.StartsWith("--config=", StringComparison.Ordinal))
            {
                var file = a.Contains('=', StringComparison.Ordinal) ? a[(a.IndexOf('=', StringComparison.Ordinal) + 1)..] : (i + 1 < args.Count ? args[++i] : "");
                if (file.Length == 0)
                {
                    throw new ConfigurationException(["--config needs a file name"]);
                }
                var full = Path.GetFullPath(file);
                if (!File.Exists(full))
                {
                    throw new ConfigurationException([$"--config: the file '{full}' does not exist"]);
                }
                builder.AddJsonFile(full, optional: false, reloadOnChange: false);
            }
            else if (a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal))
            {
                rest.Add(a);
            }
            else
            {
                throw new ConfigurationException([$"unexpected argument '{a}': settings are given as --Section:Key=value (e.g. --Dev:Hosts=6)"]);
            }
        }
        builder.AddEnvironmentVariables("EVACUATIOND__");
        builder.AddCommandLine(rest.ToArray());
        try
        {
            return builder.Build();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException)
        {
            throw new ConfigurationException([$"configuration could not be read: {ex.Message}"]);
        }
    }

    /// <summary>Binds a section; unknown keys and unconvertible values are errors naming the key.</summary>
    public static T Bind<T>(IConfiguration configuration, string section) where T : new()
    {
        try
        {
            return configuration.GetSection(section).Get<T>(o => o.ErrorOnUnknownConfiguration = true) ?? new T();
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException([$"{section}: {ex.Message}{(ex.InnerException is { } inner ? " " + inner.Message : "")}"]);
        }
    }
}
