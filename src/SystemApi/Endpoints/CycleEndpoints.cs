using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>Read-only lists of cycles and executions, for any token.</summary>
internal static class CycleEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var cycles = app.MapGroup(ApiRoutes.Cycles).WithTags("Cycles").RequiresToken(Caller.AnyPolicy);
        cycles.MapGet("", ListCycles).WithName("ListCycles").WithSummary("Allocation cycles, newest first (paged: skip, take)").Refuses(400);
        var executions = app.MapGroup(ApiRoutes.Executions).WithTags("Cycles").RequiresToken(Caller.AnyPolicy);
        executions.MapGet("", ListExecutions).WithName("ListExecutions")
            .WithSummary("Executions, newest first (filters: cycle, agentId; paged: skip, take)").Refuses(400);
    }

    private static async Task<Results<Ok<CycleList>, ProblemHttpResult>> ListCycles(IDbContextFactory<CyAgentsDbContext> databases,
        IOptions<SystemApiOptions> options, CancellationToken ct, int skip = 0, int take = 50)
    {
        if (Paging.Check(skip, take, options.Value.MaxPageSize) is { } problem) return problem;
        await using var db = await databases.CreateDbContextAsync(ct);
        var rows = await db.Set<CycleRecord>().AsNoTracking().OrderByDescending(c => c.Number).Skip(skip).Take(take).ToListAsync(ct);
        return TypedResults.Ok(new CycleList(rows.Select(r => r.ToWire()).ToList()));
    }

    private static async Task<Results<Ok<ExecutionList>, ProblemHttpResult>> ListExecutions(IDbContextFactory<CyAgentsDbContext> databases,
        IOptions<SystemApiOptions> options, CancellationToken ct, long? cycle = null, string? agentId = null, int skip = 0, int take = 50)
    {
        if (Paging.Check(skip, take, options.Value.MaxPageSize) is { } problem) return problem;
        await using var db = await databases.CreateDbContextAsync(ct);
        var query = db.Set<ExecutionRecord>().AsNoTracking();
        if (cycle is not null) query = query.Where(e => e.Cycle == cycle);
        if (agentId is not null) query = query.Where(e => e.AgentId == agentId);
        var rows = await query.OrderByDescending(e => e.Cycle).ThenBy(e => e.Id).Skip(skip).Take(take).ToListAsync(ct);
        return TypedResults.Ok(new ExecutionList(rows.Select(r => r.ToWire()).ToList()));
    }
}

/// <summary>Shared checks of skip/take.</summary>
internal static class Paging
{
    public static ProblemHttpResult? Check(int skip, int take, int max)
    {
        var errors = new Dictionary<string, string[]>();
        if (skip < 0) errors["skip"] = ["must not be negative"];
        if (take < 1 || take > max) errors["take"] = [$"must be between 1 and {max}"];
        return errors.Count == 0 ? null : Problems.Validation(errors);
    }
}
