using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;

namespace Evacuationd.Testing.Etcd;

/// <summary>An etcd user for tests: read-write on the keys under <see cref="KeyPrefix"/> only.</summary>
public sealed record EtcdTestUser(string Name, string Password, string KeyPrefix);

/// <summary>
/// etcd auth for tests, over the raw gRPC Auth client (no etcdctl needed): creates user
/// <c>root</c> with role <c>root</c> and any further users, then enables auth. Once enabled,
/// every KV, lease and watch call needs a token (<see cref="TokenHeadersAsync"/>); the fixture's
/// Maintenance Status probes keep working without one.
/// </summary>
public static class EtcdTestAuth
{
    /// <summary>The user etcd requires before auth can be enabled.</summary>
    public const string Root = "root";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Adds role and user <c>root</c> (password <paramref name="rootPassword"/>), then for each of
    /// <paramref name="users"/> a role granting read-write on its prefix and the user with that role,
    /// then enables auth. Call on a cluster whose auth is still off.
    /// </summary>
    public static async Task EnableAsync(EtcdClient client, string rootPassword, IEnumerable<EtcdTestUser>? users = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(rootPassword);
        var auth = client.GetConnection().AuthClient;
        await auth.RoleAddAsync(new AuthRoleAddRequest { Name = Root }, deadline: EtcdTestClient.Deadline(Timeout), cancellationToken: cancellationToken);
        await auth.UserAddAsync(new AuthUserAddRequest { Name = Root, Password = rootPassword }, deadline: EtcdTestClient.Deadline(Timeout), cancellationToken: cancellationToken);
        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = Root, Role = Root }, deadline: EtcdTestClient.Deadline(Timeout), cancellationToken: cancellationToken);
        foreach (var user in users ?? [])
        {
            await AddUserAsync(auth, user, headers: null, cancellationToken);
        }
        await auth.AuthEnableAsync(new AuthEnableRequest(), deadline: EtcdTestClient.Deadline(Timeout), cancellationToken: cancellationToken);
    }

    /// <summary>Adds <paramref name="user"/> (and its role) on a cluster with auth enabled, as root.</summary>
    public static async Task AddUserAsync(EtcdClient client, string rootPassword, EtcdTestUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var headers = await TokenHeadersAsync(client, Root, rootPassword, cancellationToken);
        await AddUserAsync(client.GetConnection().AuthClient, user, headers, cancellationToken);
    }

    /// <summary>Changes the password of <paramref name="user"/>, as root (tokens already issued stay valid until they expire).</summary>
    public static async Task ChangePasswordAsync(EtcdClient client, string rootPassword, string user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var headers = await TokenHeadersAsync(client, Root, rootPassword, cancellationToken);
        await client.GetConnection().AuthClient.UserChangePasswordAsync(
            new AuthUserChangePasswordRequest { Name = user, Password = password }, headers, EtcdTestClient.Deadline(Timeout), cancellationToken);
    }

    /// <summary>Turns auth off again, as root.</summary>
    public static async Task DisableAsync(EtcdClient client, string rootPassword, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var headers = await TokenHeadersAsync(client, Root, rootPassword, cancellationToken);
        await client.GetConnection().AuthClient.AuthDisableAsync(new AuthDisableRequest(), headers, EtcdTestClient.Deadline(Timeout), cancellationToken);
    }

    /// <summary>Authenticates <paramref name="user"/>; the metadata carrying its token (key <c>token</c>) for raw calls.</summary>
    public static async Task<Metadata> TokenHeadersAsync(EtcdClient client, string user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var answer = await client.GetConnection().AuthClient.AuthenticateAsync(
            new AuthenticateRequest { Name = user, Password = password }, deadline: EtcdTestClient.Deadline(Timeout), cancellationToken: cancellationToken);
        return new Metadata { { "token", answer.Token } };
    }

    private static async Task AddUserAsync(Auth.AuthClient auth, EtcdTestUser user, Metadata? headers, CancellationToken cancellationToken)
    {
        var role = "role-" + user.Name;
        var key = EtcdTestClient.Bytes(user.KeyPrefix);
        await auth.RoleAddAsync(new AuthRoleAddRequest { Name = role }, headers, EtcdTestClient.Deadline(Timeout), cancellationToken);
        await auth.RoleGrantPermissionAsync(new AuthRoleGrantPermissionRequest
        {
            Name = role,
            Perm = new Authpb.Permission { PermType = Authpb.Permission.Types.Type.Readwrite, Key = key, RangeEnd = EtcdTestClient.PrefixEnd(key) },
        }, headers, EtcdTestClient.Deadline(Timeout), cancellationToken);
        await auth.UserAddAsync(new AuthUserAddRequest { Name = user.Name, Password = user.Password }, headers, EtcdTestClient.Deadline(Timeout), cancellationToken);
        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = user.Name, Role = role }, headers, EtcdTestClient.Deadline(Timeout), cancellationToken);
    }
}
