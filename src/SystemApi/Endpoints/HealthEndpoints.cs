using CyAgents.Contracts;
using CyAgents.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>Liveness, anonymous.</summary>
internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(ApiRoutes.Health, GetHealth).WithTags("Health").WithName("GetHealth").AllowAnonymous()
            .WithSummary("Liveness and database reachability")
            .WithDescription("Anonymous. 200 with status ok when the database answers; 503 with status degraded otherwise.");

    private static async Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> GetHealth(
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var ok = await db.Database.CanConnectAsync(ct);
        return ok
            ? TypedResults.Ok(new HealthResponse("ok", "ok", ContractsInfo.ApiVersion))
            : TypedResults.Json(new HealthResponse("degraded", "unreachable", ContractsInfo.ApiVersion), statusCode: 503);
    }
}
