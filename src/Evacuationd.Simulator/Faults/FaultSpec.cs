using System.Globalization;
using System.Text;

namespace Evacuationd.Simulator.Faults;

/// <summary>The fault kinds evacsim can inject.</summary>
public static class FaultKinds
{
    /// <summary>Delays the answer of a matching Keystone/Nova/Glance request by <see cref="FaultSpec.Ms"/>.</summary>
    public const string Latency = "latency";

    /// <summary>Answers a matching request with a 5xx without performing it.</summary>
    public const string ServerError = "5xx";

    /// <summary>Performs a matching request, then answers a 5xx instead of its result (a lost answer).</summary>
    public const string ServerErrorAfter = "5xx-after";

    /// <summary>Never answers a matching request (until the client gives up, or closes it after <see cref="FaultSpec.Ms"/>).</summary>
    public const string Timeout = "timeout";

    /// <summary>An accepted evacuation ends with its migration <c>error</c> and the instance in error, host unchanged.</summary>
    public const string EvacuateError = "evacuate-error";

    /// <summary>The scheduler finds no host for an accepted evacuation (NoValidHost).</summary>
    public const string NoValidHost = "novalidhost";

    /// <summary><c>PUT /os-services/{id}</c> with <c>forced_down: true</c> answers 500 and changes nothing.</summary>
    public const string RefuseForceDown = "refuse-force-down";

    /// <summary>Every kind, in the order of the documentation.</summary>
    public static readonly IReadOnlyList<string> All =
        [Latency, ServerError, ServerErrorAfter, Timeout, EvacuateError, NoValidHost, RefuseForceDown];

    /// <summary>The parameters a kind accepts (besides <c>p</c>, which all accept).</summary>
    internal static IReadOnlyList<string> Parameters(string kind) => kind switch
    {
        Latency => ["ms", "path", "method", "after"],
        ServerError or ServerErrorAfter => ["code", "path", "method"],
        Timeout => ["ms", "path", "method", "after"],
        EvacuateError or NoValidHost or RefuseForceDown => ["host"],
        _ => [],
    };

    /// <summary>Kinds decided per HTTP request (by the middleware) rather than by the model.</summary>
    internal static bool IsRequestKind(string kind) => kind is Latency or ServerError or ServerErrorAfter or Timeout;
}

/// <summary>
/// One fault rule. Written on the command line as <c>KIND[:K=V[,K=V...]]</c>, e.g.
/// <c>latency:p=0.2,ms=800,path=os-migrations</c>; over the control API as a JSON object
/// (<c>{"kind": "latency", "p": 0.2, "ms": 800}</c>). Check a hand-built one with <see cref="Validate"/>.
/// </summary>
public sealed record FaultSpec
{
    /// <summary>One of <see cref="FaultKinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>Probability in [0, 1] that the rule fires for one eligible request or evacuation (default 1).</summary>
    public double P { get; init; } = 1;

    /// <summary>latency: the delay (required). timeout: hold this long, then close the connection
    /// (null: hold until the client gives up).</summary>
    public int? Ms { get; init; }

    /// <summary>Request kinds: only requests whose path contains this (ordinal substring of the URL path,
    /// e.g. <c>os-migrations</c>, <c>/action</c>, <c>/identity/</c>).</summary>
    public string? Path { get; init; }

    /// <summary>Request kinds: only requests with this HTTP method (case-insensitive).</summary>
    public string? Method { get; init; }

    /// <summary>5xx / 5xx-after: the status answered (500..599, default 500).</summary>
    public int? Code { get; init; }

    /// <summary>latency / timeout: the operation is performed first and then the answer is delayed / never
    /// sent (an unknown outcome for the client). Default false: the delay or hang comes before the operation.</summary>
    public bool After { get; init; }

    /// <summary>evacuate-error / novalidhost: only evacuations from this source host.
    /// refuse-force-down: only this host's service. Null: every host.</summary>
    public string? Host { get; init; }

    /// <summary>The 5xx status answered by 5xx / 5xx-after.</summary>
    public int Status => Code ?? 500;

    /// <summary>The problem with this rule, or null when it is valid.</summary>
    public string? Validate()
    {
        if (string.IsNullOrEmpty(Kind) || !FaultKinds.All.Contains(Kind, StringComparer.Ordinal))
        {
            return $"unknown fault kind '{Kind}' (known: {string.Join(", ", FaultKinds.All)})";
        }

        if (double.IsNaN(P) || P < 0 || P > 1)
        {
            return $"{Kind}: p must be a number in [0, 1]";
        }

        var allowed = FaultKinds.Parameters(Kind);
        string? Unexpected(string name, bool present) =>
            present && !allowed.Contains(name, StringComparer.Ordinal)
                ? $"{Kind}: '{name}' is not a parameter of {Kind} (it takes p{string.Concat(allowed.Select(a => ", " + a))})"
                : null;

        var unexpected = Unexpected("ms", Ms is not null) ?? Unexpected("path", Path is not null) ?? Unexpected("method", Method is not null)
            ?? Unexpected("code", Code is not null) ?? Unexpected("after", After) ?? Unexpected("host", Host is not null);
        if (unexpected is not null)
        {
            return unexpected;
        }

        if (Kind == FaultKinds.Latency && Ms is null)
        {
            return "latency: ms is required";
        }

        if (Ms is < 0)
        {
            return $"{Kind}: ms must be a non-negative integer";
        }

        if (Code is < 500 or > 599)
        {
            return $"{Kind}: code must be in [500, 599]";
        }

        if (Path is { Length: 0 })
        {
            return $"{Kind}: path must not be empty";
        }

        if (Method is not null && (Method.Length == 0 || !Method.All(char.IsAsciiLetter)))
        {
            return $"{Kind}: method must be an HTTP method such as GET or POST";
        }

        if (Host is not null && string.IsNullOrWhiteSpace(Host))
        {
            return $"{Kind}: host must not be empty";
        }

        return null;
    }

    /// <summary>Parses <c>KIND[:K=V[,K=V...]]</c>; returns null and the reason on a bad spec.</summary>
    public static FaultSpec? TryParse(string spec, out string? error)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var kind = (colon < 0 ? spec : spec[..colon]).Trim();
        var parameters = new List<KeyValuePair<string, string>>();
        if (colon >= 0)
        {
            foreach (var item in spec[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries))
            {
                if (item.Length == 0)
                {
                    error = $"'{spec}': empty parameter";
                    return null;
                }

                var eq = item.IndexOf('=', StringComparison.Ordinal);
                parameters.Add(eq < 0
                    ? new KeyValuePair<string, string>(item, "true") // a bare flag: "after"
                    : new KeyValuePair<string, string>(item[..eq].Trim(), item[(eq + 1)..].Trim()));
            }
        }

        var fault = FromParameters(kind, parameters, out error);
        if (fault is null)
        {
            error = $"'{spec}': {error}";
        }

        return fault;
    }

    /// <summary>Parses <c>KIND[:K=V[,K=V...]]</c>; throws <see cref="FormatException"/> on a bad spec.</summary>
    public static FaultSpec Parse(string spec) => TryParse(spec, out var error) ?? throw new FormatException(error);

    /// <summary>Builds a rule from a kind and textual parameters (the command line's and the control API's shared path).</summary>
    internal static FaultSpec? FromParameters(string kind, IEnumerable<KeyValuePair<string, string>> parameters, out string? error)
    {
        if (!FaultKinds.All.Contains(kind, StringComparer.Ordinal))
        {
            error = $"unknown fault kind '{kind}' (known: {string.Join(", ", FaultKinds.All)})";
            return null;
        }

        var fault = new FaultSpec { Kind = kind };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
        {
            if (!seen.Add(name))
            {
                error = $"{kind}: '{name}' given twice";
                return null;
            }

            if (name != "p" && !FaultKinds.Parameters(kind).Contains(name, StringComparer.Ordinal))
            {
                var allowed = string.Concat(FaultKinds.Parameters(kind).Select(a => ", " + a));
                error = $"{kind}: '{name}' is not a parameter of {kind} (it takes p{allowed})";
                return null;
            }

            switch (name)
            {
                case "p":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) || double.IsNaN(p) || p < 0 || p > 1)
                    {
                        error = $"{kind}: p must be a number in [0, 1], not '{value}'";
                        return null;
                    }

                    fault = fault with { P = p };
                    break;
                case "ms":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
                    {
                        error = $"{kind}: ms must be a non-negative integer, not '{value}'";
                        return null;
                    }

                    fault = fault with { Ms = ms };
                    break;
                case "code":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
                    {
                        error = $"{kind}: code must be in [500, 599], not '{value}'";
                        return null;
                    }

                    fault = fault with { Code = code };
                    break;
                case "after":
                    if (!bool.TryParse(value, out var after) && !TryBit(value, out after))
                    {
                        error = $"{kind}: after must be true or false, not '{value}'";
                        return null;
                    }

                    fault = fault with { After = after };
                    break;
                case "path":
                    fault = fault with { Path = value };
                    break;
                case "method":
                    fault = fault with { Method = value.ToUpperInvariant() };
                    break;
                case "host":
                    fault = fault with { Host = value };
                    break;
            }
        }

        error = fault.Validate();
        return error is null ? fault : null;
    }

    private static bool TryBit(string value, out bool result)
    {
        result = value == "1";
        return value is "0" or "1";
    }

    /// <summary>The command-line form, e.g. <c>latency:p=0.2,ms=800</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(Kind);
        sb.Append(":p=").Append(P.ToString("R", CultureInfo.InvariantCulture));
        if (Ms is { } ms)
        {
            sb.Append(",ms=").Append(ms.ToString(CultureInfo.InvariantCulture));
        }

        if (Code is { } code)
        {
            sb.Append(",code=").Append(code.ToString(CultureInfo.InvariantCulture));
        }

        if (Path is not null)
        {
            sb.Append(",path=").Append(Path);
        }

        if (Method is not null)
        {
            sb.Append(",method=").Append(Method);
        }

        if (After)
        {
            sb.Append(",after=true");
        }

        if (Host is not null)
        {
            sb.Append(",host=").Append(Host);
        }

        return sb.ToString();
    }
}

/// <summary>The fault rules in force and the seed their random generator was last seeded with.</summary>
public sealed record FaultSettings(int Seed, IReadOnlyList<FaultSpec> Faults);
