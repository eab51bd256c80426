using System.Security.Claims;
using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>Agent identities and lineage. Names and lineage are not secret: any token may read them.</summary>
internal static class AgentEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGroup(ApiRoutes.Self).WithTags("Agents").RequiresToken(Caller.AgentPolicy)
            .MapGet("", GetSelf).WithName("GetSelf").WithSummary("The calling agent").Refuses(404);
        var group = app.MapGroup("/v1/agents").WithTags("Agents").RequiresToken(Caller.AnyPolicy);
        group.MapGet("/{agentId}", GetAgent).WithName("GetAgent").WithSummary("One agent by id").Refuses(404);
        group.MapGet("/{agentId}/lineage", GetLineage).WithName("GetLineage")
            .WithSummary("The lineage tree an agent belongs to, from its root").Refuses(404);
    }

    private static Task<Results<Ok<AgentResponse>, ProblemHttpResult>> GetSelf(ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct) =>
        GetAgent(Caller.From(user).AgentId!, databases, ct);

    private static async Task<Results<Ok<AgentResponse>, ProblemHttpResult>> GetAgent(string agentId,
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var agent = await db.Set<AgentRecord>().AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, ct);
        return agent is null ? Problems.NotFound($"no agent '{agentId}'") : TypedResults.Ok(agent.ToWire());
    }

    private static async Task<Results<Ok<LineageNode>, ProblemHttpResult>> GetLineage(string agentId,
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var agent = await db.Set<AgentRecord>().AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, ct);
        if (agent is null) return Problems.NotFound($"no agent '{agentId}'");
        var family = await db.Set<AgentRecord>().AsNoTracking().Where(a => a.RootId == agent.RootId).ToListAsync(ct);
        var children = family.Where(a => a.ParentId is not null).ToLookup(a => a.ParentId!);
        var root = family.FirstOrDefault(a => a.Id == agent.RootId) ?? agent;
        LineageNode Build(AgentRecord a) => new(a.ToWire(),
            children[a.Id].OrderBy(c => c.CreatedCycle).ThenBy(c => c.Id, StringComparer.Ordinal).Select(Build).ToList());
        return TypedResults.Ok(Build(root));
    }
}
