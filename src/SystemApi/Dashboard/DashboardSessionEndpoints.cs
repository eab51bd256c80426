using CyAgents.Contracts;
using CyAgents.SystemApi.Endpoints;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CyAgents.SystemApi.Dashboard;

/// <summary>
/// <c>POST /v1/operator/session</c> trades the operator's bearer token for the dashboard's session cookie; <c>DELETE</c> ends it
/// (ADR 0128). Both need the bearer token itself: the cookie authenticates only <c>GET /v1/events</c>, so it can neither
/// mint sessions nor write anything.
/// </summary>
internal static class DashboardSessionEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(ApiRoutes.OperatorSession).WithTags("Operator").RequiresToken(Caller.OperatorPolicy);
        group.MapPost("", Open).WithName("OpenOperatorSession")
            .WithSummary("Operator: a one-hour session cookie that lets a browser's EventSource read /v1/events")
            .WithDescription("Sets `cyagents_session` (HttpOnly, SameSite=Strict, Path=/v1/events). The cookie is accepted only on " +
                             "GET /v1/events and only on the loopback TCP listener; every other request still needs the bearer token.");
        group.MapDelete("", Close).WithName("CloseOperatorSession").WithSummary("Operator: end the dashboard session named by the cookie");
    }

    private static Ok<OperatorSessionResponse> Open(HttpContext http, OperatorSessions sessions)
    {
        var (secret, expires) = sessions.Issue();
        http.Response.Cookies.Append(OperatorSessions.CookieName, secret, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Strict, Path = EventsPath, Expires = expires, IsEssential = true,
            // The API is plain HTTP on loopback only (ADR 0083): a Secure cookie would never be sent back.
            Secure = http.Request.IsHttps,
        });
        return TypedResults.Ok(new OperatorSessionResponse(expires));
    }

    private static NoContent Close(HttpContext http, OperatorSessions sessions)
    {
        if (http.Request.Cookies[OperatorSessions.CookieName] is { Length: > 0 } secret) sessions.End(secret);
        http.Response.Cookies.Delete(OperatorSessions.CookieName, new CookieOptions { Path = EventsPath });
        return TypedResults.NoContent();
    }

    private const string EventsPath = Events.EventEndpoints.Path;
}
