using System.Reflection;

namespace CyAgents.SystemApi.Dashboard;

/// <summary>
/// The operator's web dashboard: one static page that reads the same public API everyone uses (market prices,
/// history, cycles, executions) and, with the operator token typed into it, lists and answers human prompts.
/// It holds no business logic and no credentials of its own.
/// </summary>
internal static class DashboardEndpoints
{
    public const string Path = "/dashboard";

    // Scripts and styles come only from this origin: the token typed into the page is never exposed to inline code.
    private const string Policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly (string Route, string Resource, string ContentType)[] Files =
    [
        (Path, "dashboard.html", "text/html; charset=utf-8"),
        (Path + "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
        (Path + "/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (route, resource, contentType) in Files)
        {
            var bytes = Load(resource);
            app.MapGet(route, (HttpContext http) =>
                {
                    http.Response.Headers.ContentSecurityPolicy = Policy;
                    http.Response.Headers.XContentTypeOptions = "nosniff";
                    http.Response.Headers.CacheControl = "no-cache";
                    return TypedResults.Bytes(bytes, contentType);
                })
                .AllowAnonymous().ExcludeFromDescription();
        }
    }

    private static byte[] Load(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("CyAgents.SystemApi.Dashboard." + name)
            ?? throw new InvalidOperationException($"dashboard resource {name} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
