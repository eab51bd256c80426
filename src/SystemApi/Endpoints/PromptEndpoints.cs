using System.Security.Claims;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// Human prompts: agents ask and poll their own prompts; the operator lists pending ones and answers each once, paying
/// a reward from the treasury (ledger transfer id <c>prompt:&lt;id&gt;:reward</c>, so it cannot be paid twice).
/// </summary>
internal static class PromptEndpoints
{
    private static readonly ContractsJsonContext Json = ContractsJsonContext.Default;
    private const string LogCategory = "CyAgents.SystemApi.Prompts";

    public static void Map(IEndpointRouteBuilder app)
    {
        var agent = app.MapGroup(ApiRoutes.Prompts).WithTags("Prompts").RequiresToken(Caller.AgentPolicy);
        agent.MapPost("", Ask).WithName("AskPrompt").WithSummary("Ask the human a question (size-limited)")
            .WithDescription("Accepts Idempotency-Key. The answer arrives later: poll GET /v1/prompts/{promptId}.")
            .Refuses(400, 403, 409, 413, 415);
        agent.MapGet("", ListOwn).WithName("ListOwnPrompts").WithSummary("Own prompts, oldest first");
        agent.MapGet("/{promptId}", GetOwn).WithName("GetPrompt").WithSummary("One own prompt (poll for its answer)").Refuses(404);

        var op = app.MapGroup(ApiRoutes.OperatorPrompts).WithTags("Operator").RequiresToken(Caller.OperatorPolicy);
        op.MapGet("", ListForOperator).WithName("ListPrompts").WithSummary("Operator: prompts, oldest first (status=pending|answered)").Refuses(400);
        op.MapPost("/{promptId}/answer", Answer).WithName("AnswerPrompt")
            .WithSummary("Operator: answer a prompt and pay its reward from the treasury, once")
            .WithDescription("409 when already answered. Accepts Idempotency-Key.")
            .Refuses(400, 404, 409, 413, 415);
    }

    private static async Task<Results<Created<PromptResponse>, ProblemHttpResult>> Ask(AskPromptRequest request, ClaimsPrincipal user,
        HttpContext http, IdempotentWrites writes, IOptions<SystemApiOptions> options, ILoggerFactory logs)
    {
        var caller = Caller.From(user);
        var question = request.Question?.Trim();
        var max = options.Value.MaxQuestionLength;
        if (string.IsNullOrEmpty(question)) return Problems.Validation("question", "is required");
        if (question.Length > max) return Problems.Validation("question", $"must be at most {max} characters (got {question.Length})");
        if (HumanText.Problem(question) is { } text) return Problems.Validation("question", text);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.AskPromptRequest);
        var outcome = await writes.RunAsync(http, caller, body, Json.PromptResponse, StatusCodes.Status201Created, async w =>
        {
            if (await AgentStanding.RetiredAsync(w.Db, caller.AgentId!, "ask the human", w.Ct) is { } retired) return retired;
            var prompt = new PromptRecord
            {
                Id = "prm-" + Guid.CreateVersion7().ToString("N"), AgentId = caller.AgentId!, ExecutionId = caller.ExecutionId,
                Cycle = caller.Cycle ?? 0, Question = question, CreatedAt = w.Now,
            };
            w.Db.Add(prompt);
            return prompt.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var asked = outcome.Value!;
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Prompt {PromptId} asked ({Length} characters)", asked.Id, asked.Question.Length);
        return TypedResults.Created(ApiRoutes.Prompt(asked.Id), asked);
    }

    private static async Task<Ok<PromptList>> ListOwn(ClaimsPrincipal user, IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct)
    {
        var caller = Caller.From(user);
        await using var db = await databases.CreateDbContextAsync(ct);
        var rows = await db.Set<PromptRecord>().AsNoTracking().Where(p => p.AgentId == caller.AgentId)
            .OrderBy(p => p.Id).Take(500).ToListAsync(ct);
        return TypedResults.Ok(new PromptList(rows.Select(p => p.ToWire()).ToList()));
    }

    private static async Task<Results<Ok<PromptResponse>, ProblemHttpResult>> GetOwn(string promptId, ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct)
    {
        var caller = Caller.From(user);
        await using var db = await databases.CreateDbContextAsync(ct);
        var prompt = await db.Set<PromptRecord>().AsNoTracking().FirstOrDefaultAsync(p => p.Id == promptId && p.AgentId == caller.AgentId, ct);
        return prompt is null ? Problems.NotFound($"no prompt '{promptId}' of yours") : TypedResults.Ok(prompt.ToWire());
    }

    private static async Task<Results<Ok<PromptList>, ProblemHttpResult>> ListForOperator(IDbContextFactory<CyAgentsDbContext> databases,
        CancellationToken ct, string status = "pending", int take = 100)
    {
        PromptStatus wanted;
        if (status.Equals("pending", StringComparison.OrdinalIgnoreCase)) wanted = PromptStatus.Pending;
        else if (status.Equals("answered", StringComparison.OrdinalIgnoreCase)) wanted = PromptStatus.Answered;
        else return Problems.Validation("status", "must be pending or answered");
        if (take is < 1 or > 500) return Problems.Validation("take", "must be between 1 and 500");
        await using var db = await databases.CreateDbContextAsync(ct);
        // Prompt ids are time-ordered (UUIDv7): ordering by id is ordering by when they were asked.
        var rows = await db.Set<PromptRecord>().AsNoTracking().Where(p => p.Status == wanted).OrderBy(p => p.Id).Take(take).ToListAsync(ct);
        return TypedResults.Ok(new PromptList(rows.Select(p => p.ToWire()).ToList()));
    }

    private static async Task<Results<Ok<PromptResponse>, ProblemHttpResult>> Answer(string promptId, AnswerPromptRequest request,
        ClaimsPrincipal user, HttpContext http, IdempotentWrites writes, IOptions<SystemApiOptions> options, ILoggerFactory logs)
    {
        var caller = Caller.From(user);
        var errors = new Dictionary<string, string[]>();
        var answer = request.Answer?.Trim();
        if (string.IsNullOrEmpty(answer)) errors["answer"] = ["is required"];
        else if (answer.Length > 64 * 1024) errors["answer"] = ["is too long"];
        else if (HumanText.Problem(answer) is { } text) errors["answer"] = [text];
        if (request.Reward < 0) errors["reward"] = ["must not be negative"];
        else if (request.Reward > options.Value.MaxPromptReward) errors["reward"] = [$"must be at most {options.Value.MaxPromptReward}"];
        if (errors.Count > 0) return Problems.Validation(errors);

        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.AnswerPromptRequest);
        var outcome = await writes.RunAsync(http, caller, body, Json.PromptResponse, StatusCodes.Status200OK, async w =>
        {
            var ct = w.Ct;
            var prompt = await w.Db.Set<PromptRecord>().FirstOrDefaultAsync(p => p.Id == promptId, ct);
            if (prompt is null) return Refusal.NotFound($"no prompt '{promptId}'");
            if (prompt.Status == PromptStatus.Answered) return Refusal.Conflict($"prompt '{promptId}' was already answered");
            if (request.Reward > 0)
                await w.Ledger.TransferAsync(new TransferRequest($"prompt:{promptId}:reward", AccountIds.Treasury,
                    AccountIds.ForAgent(prompt.AgentId), request.Reward, TransferKind.HumanReward, prompt.Cycle,
                    $"reward for prompt {promptId}"), ct);
            prompt.Answer = answer;
            prompt.Reward = request.Reward;
            prompt.Status = PromptStatus.Answered;
            prompt.AnsweredAt = w.Now;
            return prompt.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var answered = outcome.Value!;
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Prompt {PromptId} of agent {PromptAgentId} answered with reward {Reward}",
                answered.Id, answered.AgentId, answered.Reward);
        return TypedResults.Ok(answered);
    }
}
