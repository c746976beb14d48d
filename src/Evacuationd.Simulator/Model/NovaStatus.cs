namespace Evacuationd.Simulator.Model;

/// <summary>Nova's mapping of (vm_state, task_state) to the API "status".</summary>
public static class NovaStatus
{
    public static string From(string vmState, string? taskState)
    {
        ArgumentNullException.ThrowIfNull(vmState);
        switch (vmState)
        {
            case VmStates.Active:
                return taskState switch
                {
                    TaskStates.Rebuilding or TaskStates.RebuildBlockDeviceMapping or TaskStates.RebuildSpawning => "REBUILD",
                    "rebooting" or "reboot_pending" or "reboot_started" => "REBOOT",
                    "rebooting_hard" or "reboot_pending_hard" or "reboot_started_hard" => "HARD_REBOOT",
                    "migrating" => "MIGRATING",
                    "resize_prep" or "resize_migrating" or "resize_migrated" or "resize_finish" => "RESIZE",
                    _ => "ACTIVE",
                };
            case VmStates.Stopped:
                return taskState is TaskStates.Rebuilding or TaskStates.RebuildBlockDeviceMapping or TaskStates.RebuildSpawning
                    ? "REBUILD"
                    : "SHUTOFF";
            case VmStates.Error:
                return taskState is TaskStates.Rebuilding or TaskStates.RebuildBlockDeviceMapping or TaskStates.RebuildSpawning
                    ? "REBUILD"
                    : "ERROR";
            case VmStates.Building: return "BUILD";
            case VmStates.Paused: return "PAUSED";
            case VmStates.Suspended: return "SUSPENDED";
            case VmStates.Shelved: return "SHELVED";
            case VmStates.ShelvedOffloaded: return "SHELVED_OFFLOADED";
            case VmStates.Rescued: return "RESCUE";
            case VmStates.Resized: return "VERIFY_RESIZE";
            case VmStates.SoftDeleted: return "SOFT_DELETED";
            default: return "UNKNOWN";
        }
    }
}
