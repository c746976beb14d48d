namespace Evacuationd.Server.Security;

/// <summary>The roles of S8. A caller has exactly one.</summary>
internal enum CallerRole
{
    /// <summary>Reports fencing and power-on (the Pacemaker fence agent).</summary>
    Fencer,

    /// <summary>The compute-node agent, only for the host named in its certificate.</summary>
    Agent,

    /// <summary>Everything.</summary>
    Operator,

    /// <summary>Read only.</summary>
    Viewer,
}

/// <summary>A set of roles (an entry of the authorization table).</summary>
[Flags]
internal enum CallerRoles
{
    None = 0,
    Fencer = 1 << CallerRole.Fencer,
    Agent = 1 << CallerRole.Agent,
    Operator = 1 << CallerRole.Operator,
    Viewer = 1 << CallerRole.Viewer,
}

internal static class CallerRoleNames
{
    /// <summary>The role names as written in certificates and configuration.</summary>
    public static readonly IReadOnlyList<string> All = ["fencer", "agent", "operator", "viewer"];

    public static string Name(this CallerRole role) => role switch
    {
        CallerRole.Fencer => "fencer",
        CallerRole.Agent => "agent",
        CallerRole.Operator => "operator",
        CallerRole.Viewer => "viewer",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static bool TryParse(string? name, out CallerRole role)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "fencer":
                role = CallerRole.Fencer;
                return true;
            case "agent":
                role = CallerRole.Agent;
                return true;
            case "operator":
                role = CallerRole.Operator;
                return true;
            case "viewer":
                role = CallerRole.Viewer;
                return true;
            default:
                role = default;
                return false;
        }
    }

    public static bool Contains(this CallerRoles roles, CallerRole role) => (roles & (CallerRoles)(1 << (int)role)) != 0;

    /// <summary>"fencer or operator".</summary>
    public static string Describe(this CallerRoles roles)
    {
        var names = Enum.GetValues<CallerRole>().Where(r => roles.Contains(r)).Select(r => r.Name()).ToList();
        return names.Count switch
        {
            0 => "no role (nobody may call it)",
            1 => names[0],
            _ => string.Join(", ", names[..^1]) + " or " + names[^1],
        };
    }
}
