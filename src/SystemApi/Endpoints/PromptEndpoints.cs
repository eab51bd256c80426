using System.Security.Claims;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Attention;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Market;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// Human prompts: agents ask and poll their own prompts; the operator lists pending ones and answers each once, paying
/// a reward from the treasury (ledger transfer id <c>prompt:&lt;id&gt;:reward</c>, so it cannot be paid twice).
/// Each prompt costs attention out of what the asking execution won (ADR 0135): the operator's inbox puts the prompts
/// that paid most first, and a prompt left unanswered expires (PromptExpiry, in the orchestrator's cycle).
/// </summary>
internal static class PromptEndpoints
{
    private static readonly ContractsJsonContext Json = ContractsJsonContext.Default;
    private const string LogCategory = "CyAgents.SystemApi.Prompts";

    public static void Map(IEndpointRouteBuilder app)
    {
        var agent = app.MapGroup(ApiRoutes.Prompts).WithTags("Prompts").RequiresToken(Caller.AgentPolicy);
        agent.MapPost("", Ask).WithName("AskPrompt").WithSummary("Ask the human a question (size-limited), paying attention from the execution's won share")
            .WithDescription("Accepts Idempotency-Key. The answer arrives later: poll GET /v1/prompts/{promptId}. A prompt costs " +
                             "SystemApi:AttentionPerPrompt plus AttentionPerThousandCharacters per started thousand characters (basis points); " +
                             "422 attention_exhausted when the execution's prompts would cost more than its bundle won; 403 agent_retired for a retired agent.")
            .Refuses(400, 403, 409, 413, 415, 422);
        agent.MapGet("", ListOwn).WithName("ListOwnPrompts").WithSummary("Own prompts, oldest first");
        agent.MapGet("/{promptId}", GetOwn).WithName("GetPrompt").WithSummary("One own prompt (poll for its answer)").Refuses(404);

        var op = app.MapGroup(ApiRoutes.OperatorPrompts).WithTags("Operator").RequiresToken(Caller.OperatorPolicy);
        op.MapGet("", ListForOperator).WithName("ListPrompts")
            .WithSummary("Operator: the inbox; pending prompts by attention paid (most first, ties oldest first), answered or expired ones oldest first (status=pending|answered|expired)")
            .Refuses(400);
        op.MapPost("/{promptId}/answer", Answer).WithName("AnswerPrompt")
            .WithSummary("Operator: answer a prompt and pay its reward from the treasury, once")
            .WithDescription("409 when already answered or expired. Accepts Idempotency-Key.")
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
        var cost = options.Value.PromptAttention.CostOf(question.Length);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.AskPromptRequest);
        var outcome = await writes.RunAsync(http, caller, body, Json.PromptResponse, StatusCodes.Status201Created, async w =>
        {
            if (await AgentStanding.RetiredAsync(w.Db, caller.AgentId!, "ask the human", w.Ct) is { } retired) return retired;
            var (share, spent) = await AttentionOfAsync(w.Db, caller.ExecutionId, w.Ct);
            if (!PromptAttention.Fits(share, spent, cost))
                return new Refusal(ErrorCodes.AttentionExhausted,
                    $"this prompt costs {cost} bp of attention and execution '{caller.ExecutionId}' has {Math.Max(0, share - spent)} bp left " +
                    $"(won {share} bp, spent {spent} bp); bid for attention (attentionBasisPoints) in a later cycle");
            var prompt = new PromptRecord
            {
                Id = "prm-" + Guid.CreateVersion7().ToString("N"), AgentId = caller.AgentId!, ExecutionId = caller.ExecutionId,
                Cycle = caller.Cycle ?? 0, Question = question, Attention = cost, CreatedAt = w.Now,
            };
            w.Db.Add(prompt);
            w.Db.AddEvent(EventTypes.PromptPosted, prompt.AgentId, prompt.Cycle, w.Now,
                new { promptId = prompt.Id, executionId = prompt.ExecutionId, attention = cost, attentionLeft = share - spent - cost });
            return prompt.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var asked = outcome.Value!;
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Prompt {PromptId} asked ({Length} characters, {Attention} bp of attention)",
                asked.Id, asked.Question.Length, asked.Attention);
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
        if (!Enum.TryParse<PromptStatus>(status, ignoreCase: true, out var wanted) || !Enum.IsDefined(wanted) || int.TryParse(status, out _))
            return Problems.Validation("status", "must be pending, answered or expired");
        if (take is < 1 or > 500) return Problems.Validation("take", "must be between 1 and 500");
        await using var db = await databases.CreateDbContextAsync(ct);
        // Prompt ids are time-ordered (UUIDv7): ordering by id is ordering by when they were asked. What is still pending
        // comes by attention paid first: the human reads the prompts agents paid most of their share for.
        var query = db.Set<PromptRecord>().AsNoTracking().Where(p => p.Status == wanted);
        var ordered = wanted == PromptStatus.Pending ? query.OrderByDescending(p => p.Attention).ThenBy(p => p.Id) : query.OrderBy(p => p.Id);
        var rows = await ordered.Take(take).ToListAsync(ct);
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
            // PostgreSQL reads committed rows: lock the prompt so an expiry (or another host's answer) committed meanwhile is seen.
            if (w.Db.Database.IsNpgsql())
                await w.Db.Database.ExecuteSqlAsync($"SELECT 1 FROM prompts WHERE \"Id\" = {promptId} FOR UPDATE", ct);
            var prompt = await w.Db.Set<PromptRecord>().FirstOrDefaultAsync(p => p.Id == promptId, ct);
            if (prompt is null) return Refusal.NotFound($"no prompt '{promptId}'");
            if (prompt.Status == PromptStatus.Answered) return Refusal.Conflict($"prompt '{promptId}' was already answered");
            if (prompt.Status == PromptStatus.Expired)
                return Refusal.Conflict($"prompt '{promptId}' expired unanswered before cycle {prompt.ExpiredCycle}; it can no longer be answered");
            // Filed under the cycle it is paid in, not the one it was asked in: income is judged by when it arrived (ADR 0136).
            if (request.Reward > 0)
                await w.Ledger.TransferAsync(new TransferRequest($"prompt:{promptId}:reward", AccountIds.Treasury,
                    AccountIds.ForAgent(prompt.AgentId), request.Reward, TransferKind.HumanReward,
                    Math.Max(prompt.Cycle, await MarketView.CurrentCycleAsync(w.Db, ct)), $"reward for prompt {promptId}"), ct);
            prompt.Answer = answer;
            prompt.Reward = request.Reward;
            prompt.Status = PromptStatus.Answered;
            prompt.AnsweredAt = w.Now;
            w.Db.AddEvent(EventTypes.PromptAnswered, prompt.AgentId, prompt.Cycle, w.Now,
                new { promptId = prompt.Id, executionId = prompt.ExecutionId, reward = request.Reward, attention = prompt.Attention });
            return prompt.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var answered = outcome.Value!;
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Prompt {PromptId} of agent {PromptAgentId} answered with reward {Reward}",
                answered.Id, answered.AgentId, answered.Reward);
        return TypedResults.Ok(answered);
    }

    /// <summary>
    /// The attention the execution won (its granted bundle's) and what its prompts have spent of it, read in the write's
    /// transaction. On PostgreSQL the execution's row is locked first, so asks of one execution through several API hosts
    /// queue behind each other and each sees the others' prompts; on SQLite the database has one writer, and this host's
    /// writer runs writes one after another.
    /// </summary>
    private static async Task<(long Share, long Spent)> AttentionOfAsync(CyAgentsDbContext db, string? executionId, CancellationToken ct)
    {
        if (executionId is null) return (0, 0);
        if (db.Database.IsNpgsql())
            await db.Database.ExecuteSqlAsync($"SELECT 1 FROM executions WHERE \"Id\" = {executionId} FOR UPDATE", ct);
        var execution = await db.Set<ExecutionRecord>().AsNoTracking().FirstOrDefaultAsync(e => e.Id == executionId, ct);
        if (execution is null) return (0, 0);
        var spent = await db.Set<PromptRecord>().Where(p => p.ExecutionId == executionId).SumAsync(p => (long?)p.Attention, ct) ?? 0;
        return (execution.Granted.AttentionBasisPoints, spent);
    }
}
