using Evacuationd.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace Evacuationd.Agent.Work;

/// <summary>Who checks in: the Nova host name this agent speaks for, its version, and when the machine booted.</summary>
internal sealed record AgentIdentity(string Host, string Version, DateTimeOffset? BootTime)
{
    public CheckInRequest CheckInRequest()
    {
        var request = new CheckInRequest { Host = Host, AgentVersion = Version };
        if (BootTime is { } boot)
        {
            request.BootTime = Timestamp.FromDateTimeOffset(boot);
        }

        return request;
    }
}
