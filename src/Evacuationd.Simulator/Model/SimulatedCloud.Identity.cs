using System.Buffers.Text;

namespace Evacuationd.Simulator.Model;

public sealed partial class SimulatedCloud
{
    private readonly Dictionary<string, SimToken> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _projects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ImageSnapshot> _images = new(StringComparer.Ordinal);
    private readonly string _maxMicroversion;
    private string _adminProjectId = string.Empty;
    private string _adminUserId = string.Empty;
    private string _demoProjectId = string.Empty;
    private string _demoUserId = string.Empty;

    /// <summary>Id of the "admin" role.</summary>
    public string AdminRoleId { get; private set; } = string.Empty;

    /// <summary>Id of the project "admin".</summary>
    public string AdminProjectId => _adminProjectId;

    /// <summary>Id of the project "demo" that owns the pre-populated instances.</summary>
    public string DemoProjectId => _demoProjectId;

    private void InitIdentity()
    {
        _adminProjectId = ProjectId("admin");
        _adminUserId = UserId("admin");
        _demoProjectId = ProjectId("demo");
        _demoUserId = UserId("demo");
        AdminRoleId = NewHexId();
        var now = Time.GetUtcNow();
        _images.Add(DefaultImageId, new ImageSnapshot(DefaultImageId, "cirros-0.6.2-x86_64-disk", new Dictionary<string, string>(StringComparer.Ordinal), now));
    }

    /// <summary>Issues a token (any user and password are accepted). A null project gives an unscoped token.</summary>
    public TokenInfo IssueToken(IReadOnlyList<string> methods, string userName, string? projectName, string? applicationCredentialId = null)
    {
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(userName);
        lock (_gate)
        {
            var now = Advance();
            Span<byte> raw = stackalloc byte[48];
            _random.NextBytes(raw);
            var token = new SimToken
            {
                Id = "gAAAAA" + Base64Url.EncodeToString(raw),
                Methods = methods.ToList(),
                UserId = UserId(userName),
                UserName = userName,
                ProjectId = projectName is null ? null : ProjectId(projectName),
                ProjectName = projectName,
                ApplicationCredentialId = applicationCredentialId,
                IssuedAt = now,
                ExpiresAt = now + Options.TokenTtl,
            };
            _tokens[token.Id] = token;
            return TokenView(token);
        }
    }

    /// <summary>The token if known and not expired (model time), else null.</summary>
    public TokenInfo? ValidateToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        lock (_gate)
        {
            var now = Advance();
            return _tokens.TryGetValue(token, out var t) && now < t.ExpiresAt ? TokenView(t) : null;
        }
    }

    /// <summary>Id of a project by name (created on first use).</summary>
    public string ProjectIdOf(string name)
    {
        lock (_gate)
        {
            return ProjectId(name);
        }
    }

    /// <summary>Registers an image (top-level Glance properties such as hw_evacuable); returns its id.</summary>
    public string AddImage(string name, IReadOnlyDictionary<string, string>? properties = null, string? id = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            var now = Advance();
            var imageId = id ?? NewUuid();
            _images[imageId] = new ImageSnapshot(
                imageId,
                name,
                properties is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(properties, StringComparer.Ordinal),
                now);
            return imageId;
        }
    }

    /// <summary>An image, or null.</summary>
    public ImageSnapshot? GetImage(string id)
    {
        lock (_gate)
        {
            return _images.GetValueOrDefault(id);
        }
    }

    /// <summary>All images.</summary>
    public IReadOnlyList<ImageSnapshot> ListImages()
    {
        lock (_gate)
        {
            return _images.Values.OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>The maximum compute microversion served.</summary>
    public string MaxMicroversion => _maxMicroversion;

    private string ProjectId(string name)
    {
        if (!_projects.TryGetValue(name, out var id))
        {
            id = NewHexId();
            _projects.Add(name, id);
        }

        return id;
    }

    private string UserId(string name)
    {
        if (!_users.TryGetValue(name, out var id))
        {
            id = NewHexId();
            _users.Add(name, id);
        }

        return id;
    }

    private static TokenInfo TokenView(SimToken t) => new(
        t.Id, t.Methods, t.UserId, t.UserName, t.ProjectId, t.ProjectName, t.ApplicationCredentialId, t.IssuedAt, t.ExpiresAt);
}
