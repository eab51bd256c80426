using System.Security.Claims;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Market;
using CyAgents.SystemApi.Workspaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// Operator: a new root agent from a template folder on the host while <c>run</c> runs (what <c>cyagents agents create</c>
/// calls, ADR 0102). The operator token is served on loopback TCP only (ADR 0083), so only the host's own user reaches it.
/// </summary>
internal static class OperatorAgentEndpoints
{
    private static readonly ContractsJsonContext Json = ContractsJsonContext.Default;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGroup(ApiRoutes.OperatorAgents).WithTags("Operator").RequiresToken(Caller.OperatorPolicy)
            .MapPost("", Create).WithName("CreateAgent")
            .WithSummary("Create a root agent from a template folder on the host, endowed from the treasury")
            .WithDescription("`template` is an absolute folder on the host holding agent.json (docs/manifest.md); it is copied into the new agent's workspace and its manifest stored with the agent. The newcomer makes its entry bid in the next cycle. Accepts Idempotency-Key. Refusals: validation (400: name missing, not a single line or already taken; endowment below 1; template missing, not a folder, or its agent.json refused), forbidden (403, an agent token).")
            .Refuses(400, 403, 409, 413, 415, 500);

    private static async Task<Results<Created<CreateAgentResponse>, ProblemHttpResult>> Create(CreateAgentRequest request, ClaimsPrincipal user,
        HttpContext http, IdempotentWrites writes, WorkspaceTemplate workspaces, IOptions<SystemApiOptions> api, ILoggerFactory logs)
    {
        if (AgentCreation.Check(request) is { } invalid) return Problems.From(invalid);
        var caller = Caller.From(user);
        var minimums = new ManifestMinimums(api.Value.MinBidCpuMillicores, api.Value.MinBidMemoryMiB);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.CreateAgentRequest);
        using var workspace = new NewAgentWorkspace();
        var outcome = await writes.RunAsync(http, caller, body, Json.CreateAgentResponse, StatusCodes.Status201Created, async w =>
        {
            workspace.Drop();
            var cycle = await MarketView.CurrentCycleAsync(w.Db, w.Ct);
            var (agent, refusal) = await AgentCreation.CreateAsync(w.Db, w.Ledger, workspaces, request, minimums, cycle, w.Now,
                workspace.Hold, w.Ct);
            if (refusal is not null) return refusal;
            return new CreateAgentResponse(agent!.ToWire(), request.Endowment, workspace.FinalPath!);
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var created = outcome.Value!;
        if (!outcome.Replayed)
        {
            var log = logs.CreateLogger("CyAgents.SystemApi.Agents");
            workspace.MoveIntoPlace(log, created.Agent.Id);
            log.LogInformation("Agent {AgentId} ({Name}) created by the operator from {Template} with {Endowment} credits",
                created.Agent.Id, created.Agent.Name, request.Template, created.Endowment);
        }
        return TypedResults.Created(ApiRoutes.Agent(created.Agent.Id), created);
    }
}
