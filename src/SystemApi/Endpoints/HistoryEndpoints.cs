using System.Security.Claims;
using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Workspaces.History;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// An agent's workspace history (ADR 0108): one commit per execution with its diff summary, newest first. A workspace is
/// the agent's own business: the agent itself or the operator may read it; another agent gets 404, as if there were none.
/// </summary>
internal static class HistoryEndpoints
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGroup("/v1/agents").WithTags("Agents").RequiresToken(Caller.AnyPolicy)
            .MapGet("/{agentId}/history", GetHistory).WithName("GetHistory")
            .WithSummary("An agent's workspace history: one commit per execution with a diff summary, newest first (paged: skip, take)")
            .WithDescription("The agent itself or the operator. Refusals: validation (400, skip/take), not_found (404: no such agent, " +
                             "another agent's history, or no history yet).")
            .Refuses(400, 404);

    private static async Task<Results<Ok<WorkspaceHistoryPage>, ProblemHttpResult>> GetHistory(string agentId, ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, WorkspaceHistory history, IOptions<SystemApiOptions> options, CancellationToken ct,
        int skip = 0, int take = 20)
    {
        var caller = Caller.From(user);
        // Another agent learns nothing, not even whether the agent exists.
        if (!caller.IsOperator && caller.AgentId != agentId) return Problems.NotFound($"no agent '{agentId}'");
        if (Paging.Check(skip, take, options.Value.MaxPageSize) is { } paging) return paging;
        await using (var db = await databases.CreateDbContextAsync(ct))
        {
            if (!await db.Set<AgentRecord>().AnyAsync(a => a.Id == agentId, ct)) return Problems.NotFound($"no agent '{agentId}'");
        }
        WorkspaceHistoryPage? page;
        try { page = await history.ReadAsync(agentId, skip, take, ct); }
        catch (ArgumentException) { page = null; }
        return page is null
            ? Problems.NotFound($"agent '{agentId}' has no workspace history yet (it has not run since history was recorded)")
            : TypedResults.Ok(page);
    }
}
