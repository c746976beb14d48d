namespace Evacuationd.Nova.Tests;

/// <summary>clouds.yaml as OpenStack's clients read it: lookup order, secure.yaml, OS_CLOUD, clear errors.</summary>
public sealed class CloudsYamlTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("evacuationd-clouds-").FullName;

    private string Home => Path.Combine(_root, "home");

    private string Work => Path.Combine(_root, "work");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private CloudsYamlEnvironment Env(params (string Name, string Value)[] variables) =>
        new(name => variables.FirstOrDefault(v => v.Name == name).Value, Home, Work);

    private static string Write(string path, string yaml)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return path;
    }

    private const string Cloud = """
        clouds:
          prod:
            auth:
              auth_url: http://keystone.example:5000
              username: evacuationd
              password: from-clouds
              project_name: admin
              user_domain_name: Users
              project_domain_name: Projects
            region_name: RegionTwo
            interface: internal
          appcred:
            auth_type: v3applicationcredential
            auth:
              auth_url: http://keystone.example:5000/v3/
              application_credential_id: abc
              application_credential_secret: s3cret
        """;

    [Fact]
    public void TheUsersConfigFileGivesTheCloudsCredentialsAndRegion()
    {
        Write(Path.Combine(Home, ".config", "openstack", "clouds.yaml"), Cloud);

        var o = CloudsYaml.Resolve(new NovaClientOptions { Cloud = "prod" }, Env());

        Assert.Equal("http://keystone.example:5000/v3", o.AuthUrl);
        Assert.Equal(("evacuationd", "from-clouds", "admin"), (o.Username, o.Password, o.ProjectName));
        Assert.Equal(("Users", "Projects"), (o.UserDomainName, o.ProjectDomainName));
        Assert.Equal(("RegionTwo", "internal"), (o.RegionName, o.Interface));
        Assert.Empty(o.Validate());
    }

    [Fact]
    public void TheLookupOrderIsEnvironmentThenWorkingDirectoryThenHome()
    {
        Write(Path.Combine(Home, ".config", "openstack", "clouds.yaml"), Cloud.Replace("from-clouds", "from-home", StringComparison.Ordinal));
        Write(Path.Combine(Work, "clouds.yaml"), Cloud.Replace("from-clouds", "from-cwd", StringComparison.Ordinal));
        var explicitFile = Write(Path.Combine(_root, "elsewhere.yaml"), Cloud.Replace("from-clouds", "from-env", StringComparison.Ordinal));

        var fromCwd = CloudsYaml.Resolve(new NovaClientOptions { Cloud = "prod" }, Env());
        var fromEnv = CloudsYaml.Resolve(new NovaClientOptions { Cloud = "prod" }, Env(("OS_CLIENT_CONFIG_FILE", explicitFile)));

        Assert.Equal("from-cwd", fromCwd.Password);
        Assert.Equal("from-env", fromEnv.Password);
    }

    [Fact]
    public void SecureYamlBesideItHoldsTheSecrets()
    {
        Write(Path.Combine(Work, "clouds.yaml"), Cloud.Replace("      password: from-clouds\n", "", StringComparison.Ordinal));
        Write(Path.Combine(Work, "secure.yaml"), "clouds:\n  prod:\n    auth:\n      password: from-secure\n");

        var o = CloudsYaml.Resolve(new NovaClientOptions { Cloud = "prod" }, Env());

        Assert.Equal("from-secure", o.Password);
        Assert.Equal("evacuationd", o.Username); // the rest of auth kept (deep merge)
    }

    [Fact]
    public void ExplicitSettingsWinOverTheFile()
    {
        Write(Path.Combine(Work, "clouds.yaml"), Cloud);

        var o = CloudsYaml.Resolve(new NovaClientOptions { Cloud = "prod", Password = "explicit", RegionName = "RegionOne" }, Env());

        Assert.Equal(("explicit", "RegionOne"), (o.Password, o.RegionName));
    }

    [Fact]
    public void OsCloudChoosesTheCloudOnlyWhenNothingElseDoes()
    {
        Write(Path.Combine(Work, "clouds.yaml"), Cloud);

        var byEnv = CloudsYaml.Resolve(new NovaClientOptions(), Env(("OS_CLOUD", "prod")));
        var explicitEndpoint = CloudsYaml.Resolve(new NovaClientOptions { AuthUrl = "http://other:5000/v3" }, Env(("OS_CLOUD", "prod")));

        Assert.Equal("from-clouds", byEnv.Password);
        Assert.Null(explicitEndpoint.Password);
        Assert.Null(explicitEndpoint.RegionName);
    }

    [Fact]
    public void AnApplicationCredentialCloudNeedsNoUser()
    {
        Write(Path.Combine(Work, "clouds.yaml"), Cloud);

        var o = CloudsYaml.Resolve(new NovaClientOptions { Cloud = "appcred" }, Env());

        Assert.Equal(("abc", "s3cret"), (o.ApplicationCredentialId, o.ApplicationCredentialSecret));
        Assert.Equal("http://keystone.example:5000/v3", o.AuthUrl);
        Assert.Empty(o.Validate());
    }

    [Fact]
    public void ProblemsNameTheFileAndTheKeyButNeverASecret()
    {
        var file = Write(Path.Combine(Work, "clouds.yaml"), Cloud + "\n  broken:\n    auth:\n      username: x\n      password: hunter2\n");

        var missingCloud = Assert.Throws<CloudsYamlException>(() => CloudsYaml.Resolve(new NovaClientOptions { Cloud = "nope" }, Env()));
        var missingUrl = Assert.Throws<CloudsYamlException>(() => CloudsYaml.Resolve(new NovaClientOptions { Cloud = "broken" }, Env()));
        File.WriteAllText(file, "clouds:\n  prod: [unclosed\n");
        var badYaml = Assert.Throws<CloudsYamlException>(() => CloudsYaml.Resolve(new NovaClientOptions { Cloud = "prod" }, Env()));
        File.Delete(file);
        var noFile = Assert.Throws<CloudsYamlException>(() => CloudsYaml.Resolve(new NovaClientOptions { Cloud = "prod" }, Env()));

        Assert.Contains(file, missingCloud.Message, StringComparison.Ordinal);
        Assert.Contains("'nope'", missingCloud.Message, StringComparison.Ordinal);
        Assert.Contains("clouds.broken.auth.auth_url", missingUrl.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", missingUrl.Message, StringComparison.Ordinal);
        Assert.Contains("not valid YAML", badYaml.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(Home, ".config", "openstack", "clouds.yaml"), noFile.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheClientStartedWithACloudPointingAtEvacsimWorksAsWithAnyCloud()
    {
        await using var bed = await EvacsimTestbed.StartAsync();
        Write(Path.Combine(Work, "clouds.yaml"), $"""
            clouds:
              sim:
                auth:
                  auth_url: {bed.Simulator.IdentityUrl}
                  username: admin
                  password: x
                  project_name: admin
                region_name: RegionOne
            """);
        using var nova = new NovaComputeClient(new NovaClientOptions { Cloud = "sim" }, TimeProvider.System, environment: Env());

        var service = await nova.FindComputeServiceAsync("spare-01", CancellationToken.None);

        Assert.NotNull(service);
        Assert.Equal(new Microversion(2, 93), await nova.MicroversionAsync(CancellationToken.None));
    }
}
