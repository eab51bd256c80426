using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;

namespace CyAgents.SystemApi.Identity;

/// <summary>
/// Marks connections that arrive on the unix socket, the listener bind-mounted into every sandbox. Requests on it may
/// come from any agent, so the operator token is refused there (<see cref="BearerAuthenticationHandler"/>): operator
/// powers exist only on the host's loopback TCP listener.
/// </summary>
internal sealed class SandboxSocket
{
    public static readonly SandboxSocket Mark = new();

    /// <summary>True when the request came over the sandboxes' unix socket.</summary>
    public static bool Carries(HttpContext http) =>
        http.Features.Get<SandboxSocket>() is not null
        || http.Features.Get<IConnectionEndPointFeature>()?.LocalEndPoint is UnixDomainSocketEndPoint;
}
