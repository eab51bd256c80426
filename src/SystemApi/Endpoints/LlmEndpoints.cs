using System.Security.Claims;
using System.Text.Json.Nodes;
using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Llm;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// The old one-prompt route, kept as a thin alias of <c>/v1/chat/completions</c> (ADR 0090): the prompt becomes one user
/// message to the default model and goes through the same gateway, so it is metered and recorded alike. Plus the
/// operator's list of gateway calls.
/// </summary>
internal static class LlmEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGroup(ApiRoutes.LlmComplete).WithTags("LLM").RequiresToken(Caller.AgentPolicy)
            .MapPost("", Complete).WithName("CompleteLlm")
            .WithSummary("One prompt to the default model (alias of /v1/chat/completions), metered against the execution's won tokens")
            .WithDescription("Kept for agents written before the OpenAI-compatible routes. Reserves prompt bound + maxTokens (422 " +
                             "token_budget_exceeded when it does not fit), asks the default model's providers, charges their reported usage.")
            .Refuses(400, 404, 413, 422, 502);
        app.MapGroup(ApiRoutes.OperatorLlmCalls).WithTags("LLM").RequiresToken(Caller.OperatorPolicy)
            .MapGet("", Calls).WithName("ListLlmCalls")
            .WithSummary("Operator: the LLM gateway's calls, newest first (filter by executionId or agentId)");
    }

    private static async Task<Results<Ok<LlmCompletionResponse>, ProblemHttpResult>> Complete(LlmCompletionRequest request,
        ClaimsPrincipal user, LlmGateway gateway, LlmGatewayOptions options, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrEmpty(request.Prompt)) errors["prompt"] = ["is required"];
        if (request.MaxTokens is < 1 or > 100_000) errors["maxTokens"] = ["must be between 1 and 100000"];
        if (errors.Count > 0) return Problems.Validation(errors);
        var body = new JsonObject
        {
            ["model"] = gateway.DefaultModel,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = request.Prompt }),
            ["max_tokens"] = request.MaxTokens,
        };
        var chat = LlmRequests.Chat(OpenAiJson.Bytes(body), options, out var invalid);
        if (invalid is not null) return Problems.Validation(invalid.Param ?? "prompt", invalid.Message);
        var answer = await gateway.CompleteAsync(Caller.From(user), chat, ct);
        if (answer.Refusal is { } refusal) return Problems.Result(refusal.Status, refusal.Code, refusal.Message);
        var text = OpenAiJson.TextOf(answer.Body?["choices"]?[0]?["message"]?["content"]);
        return TypedResults.Ok(new LlmCompletionResponse(text, answer.Provider ?? "", answer.PromptTokens, answer.CompletionTokens,
            answer.Meter!.Used, answer.Meter.Granted));
    }

    private static async Task<Ok<LlmCallList>> Calls(IDbContextFactory<CyAgentsDbContext> databases, IOptions<SystemApiOptions> api,
        string? executionId, string? agentId, int? take, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var query = db.Set<LlmCallRecord>().AsNoTracking();
        if (executionId is not null) query = query.Where(c => c.ExecutionId == executionId);
        if (agentId is not null) query = query.Where(c => c.AgentId == agentId);
        // Ids begin with the arrival time in hex ticks, so ordering by id is ordering by arrival.
        var rows = await query.OrderByDescending(c => c.Id).Take(Math.Clamp(take ?? 50, 1, api.Value.MaxPageSize)).ToListAsync(ct);
        return TypedResults.Ok(new LlmCallList(rows.Select(c => new LlmCallResponse(c.Id, c.ExecutionId, c.AgentId, c.Cycle, c.Model,
            c.Provider, c.Route, c.Stream, c.PromptTokens, c.CompletionTokens, c.ReservedTokens, c.ChargedTokens, c.Attempts, c.LatencyMs,
            c.Outcome.ToString(), c.Error, c.StartedAt)).ToList()));
    }
}
