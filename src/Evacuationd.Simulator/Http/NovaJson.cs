using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Evacuationd.Simulator.Model;

namespace Evacuationd.Simulator.Http;

/// <summary>Nova JSON shapes, gated by microversion where Nova gates them.</summary>
internal static class NovaJson
{
    public const string FlavorName = "m1.small";

    public static JsonObject V21(string baseUrl, string maxVersion) => new()
    {
        ["id"] = "v2.1",
        ["status"] = "CURRENT",
        ["version"] = maxVersion,
        ["min_version"] = "2.1",
        ["updated"] = "2013-07-23T11:33:21Z",
        ["links"] = new JsonArray(
            new JsonObject { ["rel"] = "self", ["href"] = baseUrl + "compute/v2.1/" },
            new JsonObject { ["rel"] = "describedby", ["type"] = "text/html", ["href"] = "http://docs.openstack.org/" }),
        ["media-types"] = new JsonArray(new JsonObject
        {
            ["base"] = "application/json",
            ["type"] = "application/vnd.openstack.compute+json;version=2.1",
        }),
    };

    public static JsonObject V20(string baseUrl) => new()
    {
        ["id"] = "v2.0",
        ["status"] = "SUPPORTED",
        ["version"] = string.Empty,
        ["min_version"] = string.Empty,
        ["updated"] = "2011-01-21T11:33:21Z",
        ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = baseUrl + "compute/v2/" }),
    };

    public static JsonObject Server(InstanceSnapshot s, ApiVersion v, string baseUrl)
    {
        var self = baseUrl + "compute/v2.1/servers/" + s.Id;
        var bookmark = baseUrl + "compute/servers/" + s.Id;
        var o = new JsonObject
        {
            ["id"] = s.Id,
            ["name"] = s.Name,
            ["status"] = s.Status,
            ["tenant_id"] = s.TenantId,
            ["user_id"] = s.UserId,
            ["metadata"] = Dict(s.Metadata),
            ["hostId"] = s.Host is null ? string.Empty : HostId(s.TenantId, s.Host),
            ["image"] = new JsonObject
            {
                ["id"] = s.ImageId,
                ["links"] = new JsonArray(new JsonObject { ["rel"] = "bookmark", ["href"] = baseUrl + "compute/images/" + s.ImageId }),
            },
            ["flavor"] = v >= new ApiVersion(2, 47) ? EmbeddedFlavor(s) : new JsonObject
            {
                ["id"] = SimulatedCloud.DefaultFlavorId,
                ["links"] = new JsonArray(new JsonObject { ["rel"] = "bookmark", ["href"] = baseUrl + "compute/flavors/1" }),
            },
            ["created"] = NovaTime.Iso(s.Created),
            ["updated"] = NovaTime.Iso(s.Updated),
            ["addresses"] = new JsonObject(),
            ["accessIPv4"] = string.Empty,
            ["accessIPv6"] = string.Empty,
            ["links"] = Links(self, bookmark),
            ["OS-DCF:diskConfig"] = "MANUAL",
            ["progress"] = 0,
            ["OS-EXT-AZ:availability_zone"] = s.Host is null ? string.Empty : "nova",
            ["config_drive"] = string.Empty,
            ["key_name"] = null,
            ["OS-SRV-USG:launched_at"] = s.LaunchedAt is { } l ? NovaTime.Db(l) : null,
            ["OS-SRV-USG:terminated_at"] = null,
            ["OS-EXT-SRV-ATTR:host"] = s.Host,
            ["OS-EXT-SRV-ATTR:instance_name"] = s.InstanceName,
            ["OS-EXT-SRV-ATTR:hypervisor_hostname"] = s.Host,
            ["OS-EXT-STS:task_state"] = s.TaskState,
            ["OS-EXT-STS:vm_state"] = s.VmState,
            ["OS-EXT-STS:power_state"] = s.PowerState,
            ["os-extended-volumes:volumes_attached"] = new JsonArray(),
            ["security_groups"] = new JsonArray(new JsonObject { ["name"] = "default" }),
        };
        if (v >= new ApiVersion(2, 3))
        {
            o["OS-EXT-SRV-ATTR:reservation_id"] = "r-" + s.Id[..8];
            o["OS-EXT-SRV-ATTR:launch_index"] = 0;
            o["OS-EXT-SRV-ATTR:hostname"] = s.Name;
            o["OS-EXT-SRV-ATTR:kernel_id"] = string.Empty;
            o["OS-EXT-SRV-ATTR:ramdisk_id"] = string.Empty;
            o["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda";
        }

        if (v >= new ApiVersion(2, 9))
        {
            o["locked"] = s.Locked;
        }

        if (v >= new ApiVersion(2, 16))
        {
            o["host_status"] = s.HostStatus;
        }

        if (v >= new ApiVersion(2, 19))
        {
            o["description"] = null;
        }

        if (v >= new ApiVersion(2, 26))
        {
            o["tags"] = new JsonArray(s.Tags.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        }

        if (v >= new ApiVersion(2, 63))
        {
            o["trusted_image_certificates"] = null;
        }

        if (v >= new ApiVersion(2, 73))
        {
            o["locked_reason"] = s.LockedReason;
        }

        if (s.Fault is { } f)
        {
            o["fault"] = new JsonObject
            {
                ["code"] = f.Code,
                ["created"] = NovaTime.Iso(f.Created),
                ["message"] = f.Message,
                ["details"] = f.Details,
            };
        }

        return o;
    }

    public static JsonObject Flavor(ApiVersion v, string baseUrl, bool detail)
    {
        var o = new JsonObject
        {
            ["id"] = SimulatedCloud.DefaultFlavorId,
            ["name"] = FlavorName,
            ["links"] = Links(baseUrl + "compute/v2.1/flavors/1", baseUrl + "compute/flavors/1"),
        };
        if (!detail)
        {
            return o;
        }

        o["ram"] = 2048;
        o["disk"] = 20;
        o["vcpus"] = 1;
        o["OS-FLV-EXT-DATA:ephemeral"] = 0;
        o["swap"] = v >= new ApiVersion(2, 75) ? 0 : string.Empty;
        o["rxtx_factor"] = 1.0;
        o["os-flavor-access:is_public"] = true;
        o["OS-FLV-DISABLED:disabled"] = false;
        if (v >= new ApiVersion(2, 55))
        {
            o["description"] = null;
        }

        if (v >= new ApiVersion(2, 61))
        {
            o["extra_specs"] = new JsonObject();
        }

        return o;
    }

    public static JsonObject Service(ServiceSnapshot s, ApiVersion v)
    {
        var o = new JsonObject
        {
            ["id"] = v >= new ApiVersion(2, 53) ? JsonValue.Create(s.Id) : JsonValue.Create(s.NumericId),
            ["binary"] = s.Binary,
            ["disabled_reason"] = s.DisabledReason,
            ["host"] = s.Host,
            ["state"] = s.State,
            ["status"] = s.Status,
            ["updated_at"] = s.UpdatedAt is { } u ? NovaTime.Db(u) : null,
            ["zone"] = s.Zone,
        };
        if (v >= new ApiVersion(2, 11))
        {
            o["forced_down"] = s.ForcedDown;
        }

        return o;
    }

    public static JsonObject Migration(MigrationSnapshot m, ApiVersion v, string region)
    {
        var o = new JsonObject
        {
            ["id"] = m.Id,
            ["status"] = m.Status,
            ["instance_uuid"] = m.InstanceUuid,
            ["source_compute"] = m.SourceCompute,
            ["source_node"] = m.SourceNode,
            ["dest_compute"] = m.DestCompute,
            ["dest_node"] = m.DestNode,
            ["dest_host"] = m.DestHost,
            ["source_region"] = region,
            ["dest_region"] = region,
            ["old_instance_type_id"] = 1,
            ["new_instance_type_id"] = 1,
            ["created_at"] = NovaTime.Db(m.CreatedAt),
            ["updated_at"] = m.UpdatedAt is { } u ? NovaTime.Db(u) : null,
        };
        if (v >= new ApiVersion(2, 23))
        {
            o["migration_type"] = m.MigrationType;
        }

        if (v >= new ApiVersion(2, 59))
        {
            o["uuid"] = m.Uuid;
        }

        if (v >= new ApiVersion(2, 80))
        {
            o["user_id"] = m.UserId;
            o["project_id"] = m.ProjectId;
        }

        return o;
    }

    public static JsonObject Hypervisor(HostSnapshot h, ServiceSnapshot service, ApiVersion v)
    {
        var uuids = v >= new ApiVersion(2, 53);
        var o = new JsonObject
        {
            ["id"] = uuids ? JsonValue.Create(h.HypervisorId) : JsonValue.Create(h.Number),
            ["hypervisor_hostname"] = h.Name,
            ["hypervisor_type"] = "fake",
            ["hypervisor_version"] = 1000,
            ["host_ip"] = "127.0.0.1",
            ["state"] = service.State,
            ["status"] = service.Status,
            ["service"] = new JsonObject
            {
                ["host"] = h.Name,
                ["id"] = uuids ? JsonValue.Create(service.Id) : JsonValue.Create(service.NumericId),
                ["disabled_reason"] = service.DisabledReason,
            },
        };
        if (v < new ApiVersion(2, 88))
        {
            o["vcpus"] = 32;
            o["memory_mb"] = 131072;
            o["local_gb"] = 1000;
            o["vcpus_used"] = h.Instances;
            o["memory_mb_used"] = 512 + (h.Instances * 2048);
            o["local_gb_used"] = h.Instances * 20;
            o["free_ram_mb"] = 131072 - 512 - (h.Instances * 2048);
            o["free_disk_gb"] = 1000 - (h.Instances * 20);
            o["current_workload"] = 0;
            o["running_vms"] = h.Instances;
            o["disk_available_least"] = 1000 - (h.Instances * 20);
            o["cpu_info"] = "{}";
        }

        return o;
    }

    private static JsonObject EmbeddedFlavor(InstanceSnapshot s) => new()
    {
        ["vcpus"] = 1,
        ["ram"] = 2048,
        ["disk"] = 20,
        ["ephemeral"] = 0,
        ["swap"] = 0,
        ["original_name"] = FlavorName,
        ["extra_specs"] = Dict(s.FlavorExtraSpecs),
    };

    private static JsonArray Links(string self, string bookmark) => new(
        new JsonObject { ["rel"] = "self", ["href"] = self },
        new JsonObject { ["rel"] = "bookmark", ["href"] = bookmark });

    private static JsonObject Dict(IReadOnlyDictionary<string, string> d)
    {
        var o = new JsonObject();
        foreach (var (k, val) in d.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o[k] = val;
        }

        return o;
    }

    /// <summary>Nova's hostId: a hash of project id and host (sha224 there; sha256 cut to 56 hex digits here).</summary>
    private static string HostId(string projectId, string host) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(projectId + host)))[..56];
}
