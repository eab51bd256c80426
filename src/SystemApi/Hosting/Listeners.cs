using System.Net;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Hosting;

/// <summary>
/// Kestrel listens on the configured unix socket and loopback TCP only. Any other host in
/// <c>SystemApi:Urls</c> is refused at start, so the API can never be exposed by a typo.
/// </summary>
internal sealed class Listeners(IOptions<SystemApiOptions> options) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        var o = options.Value;
        kestrel.Limits.MaxRequestBodySize = o.MaxRequestBodyBytes;
        // Kestrel answers its own limits with an empty body; set them well above the API's, so ProblemMiddleware
        // refuses with problem details first and only grossly oversized requests meet Kestrel's bare answer.
        kestrel.Limits.MaxRequestLineSize = Math.Max(8 * 1024, 2 * o.MaxRequestTargetLength + 64);
        kestrel.Limits.MaxRequestHeadersTotalSize = Math.Max(32 * 1024, 2 * o.MaxRequestHeadersBytes);
        kestrel.Limits.MaxRequestHeaderCount = Math.Max(100, 2 * o.MaxRequestHeaderCount);
        kestrel.Limits.MaxConcurrentConnections = o.MaxConcurrentConnections;
        kestrel.Limits.MaxConcurrentUpgradedConnections = o.MaxConcurrentConnections;
        kestrel.AddServerHeader = false;
        foreach (var endpoint in LoopbackEndpoints(o.Urls))
            kestrel.Listen(endpoint);
        if (!string.IsNullOrWhiteSpace(o.SocketPath))
        {
            var path = Path.GetFullPath(o.SocketPath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // A socket file left by a previous run would make the bind fail.
            if (File.Exists(path)) File.Delete(path);
            // Connection features are visible to every request of the connection: the operator check reads this mark.
            kestrel.ListenUnixSocket(path, listen => listen.Use(next => connection =>
            {
                connection.Features.Set(SandboxSocket.Mark);
                return next(connection);
            }));
        }
    }

    /// <summary>Parses <c>;</c>-separated http URLs and insists on loopback hosts.</summary>
    public static IReadOnlyList<IPEndPoint> LoopbackEndpoints(string? urls)
    {
        var result = new List<IPEndPoint>();
        foreach (var raw in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(raw, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
                throw new InvalidOperationException($"SystemApi:Urls entry '{raw}' is not an http:// URL.");
            IPAddress[] addresses = uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns
                ? [IPAddress.Loopback]
                : [IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? ip
                    : throw new InvalidOperationException($"SystemApi:Urls host '{uri.Host}' is not an IP address or localhost.")];
            foreach (var address in addresses)
            {
                if (!IPAddress.IsLoopback(address))
                    throw new InvalidOperationException($"SystemApi:Urls entry '{raw}' is not a loopback address; the API listens on loopback and its unix socket only.");
                result.Add(new IPEndPoint(address, uri.Port));
            }
        }
        return result;
    }
}
