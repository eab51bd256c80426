using System.Text.Encodings.Web;
using CyAgents.Contracts;
using CyAgents.SystemApi.Dashboard;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Events;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Identity;

/// <summary>
/// Accepts <c>Authorization: Bearer &lt;token&gt;</c> with an agent token (looked up by hash, refused once revoked)
/// or the operator token (on the loopback TCP listener only, never on the sandboxes' unix socket). Challenges and forbids
/// with problem details. Without a header, the dashboard's session cookie may authenticate the event stream.
/// </summary>
internal sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    AgentTokenService agentTokens, OperatorToken operatorToken, OperatorSessions sessions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header)) return SessionCookie();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.Fail("the Authorization header must be 'Bearer <token>'");
        var token = header["Bearer ".Length..].Trim();
        if (token.Length is 0 or > 512) return AuthenticateResult.Fail("malformed bearer token");
        if (operatorToken.Matches(token))
            return SandboxSocket.Carries(Context)
                ? AuthenticateResult.Fail("the operator token is accepted only on the host's loopback TCP listener, not on the sandboxes' unix socket")
                : AuthenticateResult.Success(new AuthenticationTicket(Caller.ForOperator(SchemeName), SchemeName));
        var identity = await agentTokens.ValidateAsync(token, Context.RequestAborted);
        return identity is null
            ? AuthenticateResult.Fail("unknown or revoked token (agent tokens end with their execution)")
            : AuthenticateResult.Success(new AuthenticationTicket(Caller.ForAgent(identity, SchemeName), SchemeName));
    }

    /// <summary>
    /// The dashboard's session cookie (ADR 0128): only for reading the event stream, which an EventSource cannot send a header to,
    /// and never on the sandboxes' unix socket.
    /// </summary>
    private AuthenticateResult SessionCookie()
    {
        if (Request.Cookies[OperatorSessions.CookieName] is not { Length: > 0 } secret
            || !HttpMethods.IsGet(Request.Method) || Request.Path != EventEndpoints.Path)
            return AuthenticateResult.NoResult();
        if (SandboxSocket.Carries(Context))
            return AuthenticateResult.Fail("the dashboard session is accepted only on the host's loopback TCP listener");
        return sessions.Accepts(secret)
            ? AuthenticateResult.Success(new AuthenticationTicket(Caller.ForOperator(SchemeName), SchemeName))
            : AuthenticateResult.Fail("the dashboard session has expired or was ended; sign in with the operator token again");
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthenticated,
            result.Failure?.Message ?? "a bearer token is required");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
            Context.User.FindFirst(Caller.RoleClaim)?.Value == Caller.OperatorRole
                ? "this endpoint acts for an agent; the operator token cannot use it"
                : "this endpoint needs the operator token");
}
