using Microsoft.Extensions.Hosting.Systemd;

namespace Evacuationd.Server.Hosting;

/// <summary>
/// What <c>evacuationd serve</c> tells its service manager (sd_notify, for a
/// <c>Type=notify</c> unit: deploy/systemd/evacuationd.service). READY once the gRPC (and
/// metrics) listeners are bound, STATUS as the daemon joins etcd, loses its lease or cannot
/// reach etcd (shown by <c>systemctl status</c>), STOPPING on the way out. Without
/// <c>NOTIFY_SOCKET</c> (not under systemd) every call does nothing.
/// </summary>
internal sealed class ServiceNotifications(ISystemdNotifier notifier)
{
    public bool Enabled => notifier.IsEnabled;

    /// <summary>The listeners are bound: the service has started (systemctl start returns).</summary>
    public void Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}");

    public void Status(string status) => Send($"STATUS={OneLine(status)}");

    public void Stopping() => Send("STOPPING=1\nSTATUS=stopping");

    private void Send(string state)
    {
        if (notifier.IsEnabled)
        {
            notifier.Notify(new ServiceState(state));
        }
    }

    /// <summary>sd_notify takes newline-separated assignments: a status is one line.</summary>
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
