namespace Evacuationd.Cli.FenceAgent;

/// <summary>
/// The raw parameters of one agent run, as the fence-agents protocol passes them: command-line
/// flags when there are any, else <c>key=value</c> lines on stdin (the fencer's way; order not
/// fixed, blank lines and <c>#</c> comments skipped, the last of a repeated key wins).
/// </summary>
internal sealed class AgentInput
{
    private AgentInput(Dictionary<string, string> values, List<string> errors, bool help)
    {
        Values = values;
        Errors = errors;
        Help = help;
    }

    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>Lines or flags that could not be read at all, each naming what is wrong.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>-h/--help was given.</summary>
    public bool Help { get; }

    public string? this[string name] => Values.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    public static AgentInput FromFlags(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var errors = new List<string>();
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                help = true;
                continue;
            }
            var equals = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
            var flag = equals > 0 ? arg[..equals] : arg;
            var parameter = AgentParameters.ByFlag(flag);
            if (parameter is null)
            {
                errors.Add(arg.StartsWith('-')
                    ? $"unknown option '{Shown.Value(flag)}' (see --help)"
                    : $"unexpected argument '{Shown.Value(arg)}': options are flags (e.g. -o off -n HOST) or key=value lines on stdin");
                continue;
            }
            if (parameter.IsFlag)
            {
                values[parameter.Name] = equals > 0 ? arg[(equals + 1)..] : "1";
                continue;
            }
            if (equals > 0)
            {
                values[parameter.Name] = arg[(equals + 1)..].Trim();
            }
            else if (i + 1 < args.Count)
            {
                values[parameter.Name] = args[++i].Trim();
            }
            else
            {
                errors.Add($"option '{Shown.Value(flag)}' needs a value");
            }
        }
        return new AgentInput(values, errors, help);
    }

    public static AgentInput FromStdin(TextReader stdin)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var errors = new List<string>();
        var number = 0;
        while (stdin.ReadLine() is { } raw)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                errors.Add($"stdin line {number}: '{Shown.Value(line)}' is not key=value");
                continue;
            }
            values[line[..equals].Trim()] = line[(equals + 1)..].Trim();
        }
        return new AgentInput(values, errors, help: false);
    }
}
