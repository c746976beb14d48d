using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Evacuationd.Nova;

/// <summary>Where the resolver looks: the environment, the home and working directories (replaceable in tests).</summary>
public sealed record CloudsYamlEnvironment(Func<string, string?> Variable, string HomeDirectory, string WorkingDirectory)
{
    public static CloudsYamlEnvironment FromProcess() => new(
        Environment.GetEnvironmentVariable,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
        Directory.GetCurrentDirectory());
}

/// <summary>
/// OpenStack's clouds.yaml, as the openstack CLI reads it: the file from
/// <c>OS_CLIENT_CONFIG_FILE</c>, else ./clouds.yaml, ~/.config/openstack/clouds.yaml,
/// /etc/openstack/clouds.yaml (the first that exists); a secure.yaml found the same way
/// (<c>OS_CLIENT_SECURE_FILE</c>, ./secure.yaml, ...) is merged over it, so secrets can live
/// apart. The cloud is <c>Nova:Cloud</c>, else <c>OS_CLOUD</c> (when no endpoint is configured
/// either). Errors name the file and the
/// key, never a secret.
/// </summary>
public static class CloudsYaml
{
    /// <summary>
    /// <paramref name="options"/> completed from the cloud entry: values given explicitly in
    /// the options win over the file. Throws <see cref="CloudsYamlException"/> naming what is wrong.
    /// </summary>
    public static NovaClientOptions Resolve(NovaClientOptions options, CloudsYamlEnvironment env)
    {
        // OS_CLOUD only fills in for a configuration that names no cloud and no endpoint.
        var explicitEndpoint = !string.IsNullOrEmpty(options.AuthUrl) || !string.IsNullOrEmpty(options.ComputeEndpoint);
        var cloudName = !string.IsNullOrEmpty(options.Cloud) ? options.Cloud : explicitEndpoint ? null : env.Variable("OS_CLOUD");
        if (string.IsNullOrEmpty(cloudName))
        {
            return options;
        }
        var file = Find(env, "OS_CLIENT_CONFIG_FILE", "clouds.yaml")
                   ?? throw new CloudsYamlException($"Nova:Cloud '{cloudName}': no clouds.yaml found (looked at {string.Join(", ", Candidates(env, "OS_CLIENT_CONFIG_FILE", "clouds.yaml"))})");
        var entry = CloudEntry(file, cloudName)
                    ?? throw new CloudsYamlException($"Nova:Cloud '{cloudName}': {file} has no cloud named '{cloudName}' under 'clouds'");
        if (Find(env, "OS_CLIENT_SECURE_FILE", "secure.yaml") is { } secure && CloudEntry(secure, cloudName) is { } secrets)
        {
            entry = Merge(entry, secrets);
        }
        var auth = entry.GetValueOrDefault("auth") as Dictionary<object, object> ?? [];
        string? Auth(string key) => auth.GetValueOrDefault(key)?.ToString();
        string? Top(string key) => entry.GetValueOrDefault(key)?.ToString();

        var authType = Top("auth_type") ?? "password";
        if (authType is not ("password" or "v3password" or "v3applicationcredential" or "applicationcredential"))
        {
            throw new CloudsYamlException($"{file}: clouds.{cloudName}.auth_type '{authType}' is not supported (password or v3applicationcredential)");
        }
        var resolved = new NovaClientOptions
        {
            Cloud = cloudName,
            AuthUrl = options.AuthUrl ?? V3(Auth("auth_url")),
            Username = options.Username ?? Auth("username"),
            Password = options.Password ?? Auth("password"),
            ProjectName = options.ProjectName ?? Auth("project_name") ?? Auth("tenant_name"),
            UserDomainName = options.UserDomainName != "Default" ? options.UserDomainName : Auth("user_domain_name") ?? Auth("domain_name") ?? "Default",
            ProjectDomainName = options.ProjectDomainName != "Default" ? options.ProjectDomainName : Auth("project_domain_name") ?? Auth("domain_name") ?? "Default",
            ApplicationCredentialId = options.ApplicationCredentialId ?? Auth("application_credential_id"),
            ApplicationCredentialSecret = options.ApplicationCredentialSecret ?? Auth("application_credential_secret"),
            RegionName = options.RegionName ?? Top("region_name"),
            Interface = options.Interface != "public" ? options.Interface : (Top("interface") ?? Top("endpoint_type") ?? "public").Replace("URL", "", StringComparison.Ordinal),
            ComputeEndpoint = options.ComputeEndpoint,
            Token = options.Token,
            MaxMicroversion = options.MaxMicroversion,
            CallTimeout = options.CallTimeout,
            EvacuateTimeout = options.EvacuateTimeout,
            IdempotentTries = options.IdempotentTries,
            PageSize = options.PageSize,
            ReleaseRetryFor = options.ReleaseRetryFor,
        };
        if (string.IsNullOrEmpty(resolved.AuthUrl))
        {
            throw new CloudsYamlException($"{file}: clouds.{cloudName}.auth.auth_url is missing");
        }
        return resolved;
    }

    /// <summary>The files looked at, in order.</summary>
    public static IEnumerable<string> Candidates(CloudsYamlEnvironment env, string variable, string name)
    {
        if (env.Variable(variable) is { Length: > 0 } fromEnv)
        {
            yield return fromEnv;
        }
        yield return Path.Combine(env.WorkingDirectory, name);
        yield return Path.Combine(env.HomeDirectory, ".config", "openstack", name);
        yield return Path.Combine("/etc/openstack", name);
    }

    private static string? Find(CloudsYamlEnvironment env, string variable, string name) =>
        Candidates(env, variable, name).FirstOrDefault(File.Exists);

    private static Dictionary<object, object>? CloudEntry(string file, string cloud)
    {
        object? root;
        try
        {
            root = new DeserializerBuilder().Build().Deserialize<object>(File.ReadAllText(file));
        }
        catch (YamlException ex)
        {
            throw new CloudsYamlException($"{file}: not valid YAML at line {ex.Start.Line}: {ex.Message}");
        }
        catch (IOException ex)
        {
            throw new CloudsYamlException($"{file}: cannot be read: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CloudsYamlException($"{file}: cannot be read: {ex.Message}");
        }
        return root is Dictionary<object, object> top
               && top.GetValueOrDefault("clouds") is Dictionary<object, object> clouds
               && clouds.GetValueOrDefault(cloud) is Dictionary<object, object> entry
            ? entry
            : null;
    }

    /// <summary>Deep merge: <paramref name="over"/>'s values win.</summary>
    private static Dictionary<object, object> Merge(Dictionary<object, object> under, Dictionary<object, object> over)
    {
        var merged = new Dictionary<object, object>(under);
        foreach (var (k, v) in over)
        {
            merged[k] = merged.GetValueOrDefault(k) is Dictionary<object, object> a && v is Dictionary<object, object> b ? Merge(a, b) : v;
        }
        return merged;
    }

    /// <summary>clouds.yaml often names Keystone's root; the client talks v3.</summary>
    private static string? V3(string? authUrl)
    {
        if (string.IsNullOrEmpty(authUrl))
        {
            return null;
        }
        var trimmed = authUrl.TrimEnd('/');
        return trimmed.EndsWith("/v3", StringComparison.Ordinal) ? trimmed : trimmed + "/v3";
    }
}

/// <summary>clouds.yaml could not give what was asked: the message names file and key.</summary>
public sealed class CloudsYamlException(string message) : Exception(message);
