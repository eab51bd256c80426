using System.Diagnostics;
using CyAgents.SystemApi.Identity;

namespace CyAgents.SystemApi.Metrics;

/// <summary>
/// <c>GET /metrics</c> (Prometheus text format) on the loopback TCP listener only, without a token (ADR 0110): a scraper sends
/// none, loopback is reachable only from the host, and the figures are aggregates without ids or secrets. On the sandboxes'
/// unix socket the route does not exist (404), so agents learn nothing about each other from it.
/// </summary>
internal static class MetricsEndpoints
{
    public const string Path = "/metrics";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(Path, (HttpContext http, SystemMetrics metrics) =>
                SandboxSocket.Carries(http)
                    ? Results.NotFound()
                    : Results.Text(metrics.Exposition.Write(), PrometheusExposition.ContentType))
            .AllowAnonymous().ExcludeFromDescription();

    /// <summary>Records every request's duration by method, route template (not the raw path: bounded labels) and status.</summary>
    public static async Task TimeRequest(HttpContext http, RequestDelegate next)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            // A group's root route comes out as "/v1/bids/": written without the slash, as clients call it.
            var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } raw ? (raw.Length > 1 ? raw.TrimEnd('/') : raw) : "unmatched";
            var method = http.Request.Method is "GET" or "POST" or "PUT" or "DELETE" or "PATCH" or "HEAD" or "OPTIONS" ? http.Request.Method : "other";
            http.RequestServices.GetRequiredService<SystemMetrics>()
                .RequestServed(method, route, http.Response.StatusCode, Stopwatch.GetElapsedTime(start));
        }
    }
}
