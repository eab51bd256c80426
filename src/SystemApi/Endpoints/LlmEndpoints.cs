using System.Security.Claims;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Llm;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// The LLM proxy. Provider keys stay on the host; each call is metered against the tokens the execution won
/// (<see cref="ExecutionRecord.Tokens"/>): prompt + max tokens are reserved first, the unused part is returned after
/// the answer, so concurrent calls can never overspend the bundle.
/// </summary>
internal static class LlmEndpoints
{
    private const string LogCategory = "CyAgents.SystemApi.Llm";

    private sealed record Meter(long Used, long Granted);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGroup(ApiRoutes.LlmComplete).WithTags("LLM").RequiresToken(Caller.AgentPolicy)
            .MapPost("", Complete).WithName("CompleteLlm")
            .WithSummary("Ask the LLM proxy for a completion, metered against the execution's won tokens")
            .WithDescription("Reserves prompt + maxTokens from the execution's token budget (422 token_budget_exceeded when it does not fit), " +
                             "asks the configured provider (echo by default), then returns what was not used. No Idempotency-Key: nothing is bought.")
            .Refuses(400, 404, 413, 422, 502);

    private static async Task<Results<Ok<LlmCompletionResponse>, ProblemHttpResult>> Complete(LlmCompletionRequest request,
        ClaimsPrincipal user, IdempotentWrites writes, ILlmProvider provider, ILoggerFactory logs, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrEmpty(request.Prompt)) errors["prompt"] = ["is required"];
        if (request.MaxTokens is < 1 or > 100_000) errors["maxTokens"] = ["must be between 1 and 100000"];
        if (errors.Count > 0) return Problems.Validation(errors);
        var prompt = request.Prompt!;
        var reserved = TokenEstimate.Of(prompt) + request.MaxTokens;

        var reservation = await writes.RunAsync<Meter>(caller, async w =>
        {
            var execution = await w.Db.Set<ExecutionRecord>().FirstOrDefaultAsync(e => e.Id == caller.ExecutionId, w.Ct);
            if (execution is null) return Problems.NotFound($"no execution record '{caller.ExecutionId}' to meter tokens against");
            if (execution.TokensUsed + reserved > execution.Granted.Tokens)
                return Problems.Result(StatusCodes.Status422UnprocessableEntity, ErrorCodes.TokenBudgetExceeded,
                    $"this call may use {reserved} tokens (prompt + maxTokens); the execution won {execution.Granted.Tokens} and has used {execution.TokensUsed}");
            execution.TokensUsed += reserved;
            return new Meter(execution.TokensUsed, execution.Granted.Tokens);
        });
        if (reservation.Problem is not null) return reservation.Problem;

        LlmCompletion completion;
        try
        {
            completion = await provider.CompleteAsync(prompt, request.MaxTokens, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            await SettleAsync(writes, caller, reserved, 0);
            logs.CreateLogger(LogCategory).LogWarning(e, "LLM provider {Provider} failed; {Reserved} reserved tokens released", provider.Name, reserved);
            return Problems.Result(StatusCodes.Status502BadGateway, ErrorCodes.LlmProviderFailed, $"the LLM provider failed: {e.Message}");
        }
        catch
        {
            await SettleAsync(writes, caller, reserved, 0);
            throw;
        }
        var used = Math.Min(reserved, completion.PromptTokens + completion.CompletionTokens);
        var meter = await SettleAsync(writes, caller, reserved, used);
        logs.CreateLogger(LogCategory).LogInformation("LLM call via {Provider}: {TokensCharged} tokens ({PromptTokens} prompt + {CompletionTokens} completion); {TokensUsed}/{TokensGranted} used",
            provider.Name, used, completion.PromptTokens, completion.CompletionTokens, meter.Used, meter.Granted);
        return TypedResults.Ok(new LlmCompletionResponse(completion.Text, provider.Name, completion.PromptTokens, completion.CompletionTokens,
            meter.Used, meter.Granted));
    }

    /// <summary>Returns the reserved tokens that were not used.</summary>
    private static async Task<Meter> SettleAsync(IdempotentWrites writes, Caller caller, long reserved, long used)
    {
        var settled = await writes.RunAsync<Meter>(caller, async w =>
        {
            var execution = await w.Db.Set<ExecutionRecord>().FirstAsync(e => e.Id == caller.ExecutionId, w.Ct);
            execution.TokensUsed -= reserved - used;
            return new Meter(execution.TokensUsed, execution.Granted.Tokens);
        });
        return settled.Value!;
    }
}
