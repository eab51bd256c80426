using System.Globalization;
using System.Security.Claims;

namespace CyAgents.SystemApi.Identity;

/// <summary>The authenticated caller: an agent (bound to one execution) or the operator.</summary>
/// <param name="Principal">Agent id, or <c>operator</c>; scopes idempotency keys and rate limits.</param>
/// <param name="AgentId">The agent, when the caller is one.</param>
/// <param name="ExecutionId">The agent's execution.</param>
/// <param name="Cycle">The execution's cycle.</param>
public sealed record Caller(string Principal, string? AgentId, string? ExecutionId, long? Cycle)
{
    /// <summary>Claim types the bearer handler sets.</summary>
    public const string RoleClaim = "cyagents:role", AgentClaim = "cyagents:agent", ExecutionClaim = "cyagents:execution", CycleClaim = "cyagents:cycle";
    /// <summary>Role values.</summary>
    public const string AgentRole = "agent", OperatorRole = "operator";
    /// <summary>Authorization policy names.</summary>
    public const string AgentPolicy = "agent", OperatorPolicy = "operator", AnyPolicy = "any";

    /// <summary>True for the operator.</summary>
    public bool IsOperator => AgentId is null;

    /// <summary>Reads the caller from the request's principal (set by the bearer handler).</summary>
    public static Caller From(ClaimsPrincipal user)
    {
        if (user.FindFirstValue(RoleClaim) == OperatorRole) return new Caller(OperatorRole, null, null, null);
        var agent = user.FindFirstValue(AgentClaim) ?? throw new InvalidOperationException("request is not authenticated");
        var cycle = user.FindFirstValue(CycleClaim);
        return new Caller(agent, agent, user.FindFirstValue(ExecutionClaim),
            cycle is null ? null : long.Parse(cycle, CultureInfo.InvariantCulture));
    }

    internal static ClaimsPrincipal ForAgent(AgentTokenIdentity id, string scheme) => new(new ClaimsIdentity(
    [
        new Claim(RoleClaim, AgentRole), new Claim(AgentClaim, id.AgentId), new Claim(ExecutionClaim, id.ExecutionId),
        new Claim(CycleClaim, id.Cycle.ToString(CultureInfo.InvariantCulture)),
    ], scheme));

    internal static ClaimsPrincipal ForOperator(string scheme) => new(new ClaimsIdentity([new Claim(RoleClaim, OperatorRole)], scheme));
}
