using System.Security.Claims;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Tasks;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Tasks;
using CyAgents.SystemApi.Endpoints;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Market;
using CyAgents.SystemApi.Workspaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Tasks;

/// <summary>
/// Tasks that pay (ADR 0132): the operator and agents post tasks with an escrowed reward; agents list them and hand in work
/// from their workspace, copied at once with the link-refusing copy (ADR 0133); the orchestrator verifies it later; the
/// operator reviews the work of human-reviewed tasks.
/// </summary>
internal static class TaskEndpoints
{
    private static readonly ContractsJsonContext Json = ContractsJsonContext.Default;
    private const string LogCategory = "CyAgents.SystemApi.Tasks";

    public static void Map(IEndpointRouteBuilder app)
    {
        var any = app.MapGroup(ApiRoutes.Tasks).WithTags("Tasks").RequiresToken(Caller.AnyPolicy);
        any.MapPost("", Post).WithName("PostTask")
            .WithSummary("Post a task; its reward is escrowed from the poster at once (the treasury for the operator)")
            .WithDescription("Accepts Idempotency-Key. Refusals: validation (400), insufficient_funds (402, the reward exceeds the agent's available credits), forbidden (403, a retired agent).")
            .Refuses(400, 402, 403, 409, 413, 415);
        any.MapGet("", List).WithName("ListTasks").WithSummary("Tasks, oldest first (status=open|awarded|expired|all; default open)").Refuses(400);
        any.MapGet("/{taskId}", Get).WithName("GetTask").WithSummary("One task").Refuses(404);
        any.MapGet("/{taskId}/submissions", ListSubmissions).WithName("ListSubmissions")
            .WithSummary("Submissions to a task: the caller's own; all of them for the operator and the poster").Refuses(404);
        any.MapPost("/{taskId}/submissions", Submit).WithName("SubmitWork")
            .WithSummary("Agent: hand in a file or folder of the own workspace; it is copied now and verified later")
            .WithDescription("The copy refuses links anywhere on the path or in the tree, special files, and more than Tasks:MaxSubmissionBytes / MaxSubmissionEntries. Accepts Idempotency-Key. Refusals: validation (400), forbidden (403, the operator or a retired agent), not_found (404), task_closed (409), submission_refused (422), submission_limit (422).")
            .Refuses(400, 403, 404, 409, 413, 415, 422);

        var op = app.MapGroup("/v1/operator/tasks").WithTags("Operator").RequiresToken(Caller.OperatorPolicy);
        op.MapPost("/{taskId}/submissions/{submissionId}/review", Review).WithName("ReviewSubmission")
            .WithSummary("Operator: approve (pay the reward, once) or reject a submission to a human-reviewed task")
            .WithDescription("An approval after the task was awarded or expired earns nothing (state Passed). Accepts Idempotency-Key. Refusals: not_found (404), conflict (409: not a human-reviewed task, or judged already).")
            .Refuses(400, 404, 409, 413, 415);
    }

    private static async Task<Results<Created<TaskResponse>, ProblemHttpResult>> Post(PostTaskRequest request, ClaimsPrincipal user,
        HttpContext http, IdempotentWrites writes, IOptions<TaskOptions> options, ILoggerFactory logs)
    {
        var caller = Caller.From(user);
        if (TaskPosting.Check(request, options.Value.MaxReward) is { } invalid) return Problems.From(invalid);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.PostTaskRequest);
        var taskId = TaskPosting.NewId();
        var outcome = await writes.RunAsync(http, caller, body, Json.TaskResponse, StatusCodes.Status201Created, async w =>
        {
            var (task, refusal) = await TaskPosting.PostAsync(w.Db, w.Ledger, request, caller.AgentId, taskId, w.Now, w.Ct);
            if (refusal is not null) return refusal;
            return task!.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var posted = outcome.Value!;
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Task {TaskId} posted by {Poster}: reward {Reward} escrowed, open through cycle {DeadlineCycle}",
                posted.Id, posted.PosterAgentId ?? "the operator", posted.Reward, posted.DeadlineCycle);
        return TypedResults.Created(ApiRoutes.Task(posted.Id), posted);
    }

    private static async Task<Results<Ok<TaskList>, ProblemHttpResult>> List(IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct,
        string status = "open", int take = 100)
    {
        TaskState? wanted = status.ToLowerInvariant() switch
        {
            "open" => TaskState.Open,
            "awarded" => TaskState.Awarded,
            "expired" => TaskState.Expired,
            "all" => null,
            _ => (TaskState)(-1),
        };
        if (wanted == (TaskState)(-1)) return Problems.Validation("status", "must be open, awarded, expired or all");
        if (take is < 1 or > 500) return Problems.Validation("take", "must be between 1 and 500");
        await using var db = await databases.CreateDbContextAsync(ct);
        var query = db.Set<TaskRecord>().AsNoTracking();
        if (wanted is { } s) query = query.Where(t => t.State == s);
        var rows = await query.OrderBy(t => t.Id).Take(take).ToListAsync(ct);
        return TypedResults.Ok(new TaskList(rows.Select(t => t.ToWire()).ToList()));
    }

    private static async Task<Results<Ok<TaskResponse>, ProblemHttpResult>> Get(string taskId, IDbContextFactory<CyAgentsDbContext> databases,
        CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var task = await db.Set<TaskRecord>().AsNoTracking().FirstOrDefaultAsync(t => t.Id == taskId, ct);
        return task is null ? Problems.NotFound($"no task '{taskId}'") : TypedResults.Ok(task.ToWire());
    }

    private static async Task<Results<Ok<SubmissionList>, ProblemHttpResult>> ListSubmissions(string taskId, ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct)
    {
        var caller = Caller.From(user);
        await using var db = await databases.CreateDbContextAsync(ct);
        var task = await db.Set<TaskRecord>().AsNoTracking().FirstOrDefaultAsync(t => t.Id == taskId, ct);
        if (task is null) return Problems.NotFound($"no task '{taskId}'");
        var query = db.Set<TaskSubmissionRecord>().AsNoTracking().Where(s => s.TaskId == taskId);
        // The poster judges the work it pays for; other agents see only their own hand-ins.
        if (!caller.IsOperator && task.PosterAgentId != caller.AgentId) query = query.Where(s => s.AgentId == caller.AgentId);
        var rows = await query.OrderBy(s => s.Id).Take(500).ToListAsync(ct);
        return TypedResults.Ok(new SubmissionList(rows.Select(s => s.ToWire()).ToList()));
    }

    private static async Task<Results<Created<SubmissionResponse>, ProblemHttpResult>> Submit(string taskId, SubmitWorkRequest request,
        ClaimsPrincipal user, HttpContext http, IdempotentWrites writes, WorkspaceTemplate workspaces, IOptions<TaskOptions> options,
        IDbContextFactory<CyAgentsDbContext> databases, ILoggerFactory logs)
    {
        var caller = Caller.From(user);
        if (caller.IsOperator) return Problems.Forbidden("only an agent hands in work: from its own workspace");
        if (SubmissionPath.Normalize(request.Path, out var problem) is not { } path) return Problems.Validation("path", problem!);
        var rules = options.Value;
        var submissionId = "sub-" + Guid.CreateVersion7().ToString("N");
        var folder = Path.Combine(Path.GetFullPath(rules.SubmissionsRoot), submissionId);
        var log = logs.CreateLogger(LogCategory);

        // Cheap refusals first, so a closed task or a used-up allowance costs no copy; all are checked again in the write.
        await using (var db = await databases.CreateDbContextAsync(http.RequestAborted))
        {
            if (await Admissible(db, taskId, caller.AgentId!, rules, http.RequestAborted) is { } early) return Problems.From(early);
        }
        int files;
        long bytes;
        try
        {
            Directory.CreateDirectory(folder);
            (files, bytes) = HostileTreeCopy.CopyEntry(workspaces.WorkspaceOf(caller.AgentId!), path, folder, rules.SubmissionLimits);
            SubmissionPath.MakeReadOnly(folder);
        }
        catch (Exception e) when (e is UnsafeWorkspaceEntryException or IOException or UnauthorizedAccessException)
        {
            SubmissionPath.Remove(folder);
            log.LogWarning("Submission of {AgentId} to task {TaskId} refused: {Reason}", caller.AgentId, taskId, e.Message);
            return Problems.Result(StatusCodes.Status422UnprocessableEntity, ErrorCodes.SubmissionRefused, $"the submission cannot be copied: {e.Message}");
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.SubmitWorkRequest);
        ApiWriteOutcome<SubmissionResponse> outcome;
        try
        {
            outcome = await writes.RunAsync(http, caller, body, Json.SubmissionResponse, StatusCodes.Status201Created, async w =>
            {
                if (await Admissible(w.Db, taskId, caller.AgentId!, rules, w.Ct) is { } refusal) return refusal;
                var task = await w.Db.Set<TaskRecord>().FirstAsync(t => t.Id == taskId, w.Ct);
                var cycle = await MarketView.CurrentCycleAsync(w.Db, w.Ct);
                return new TaskBoard(w.Db, w.Ledger).Submit(task, submissionId, caller.AgentId!, caller.ExecutionId, cycle, path, files, bytes, w.Now).ToWire();
            });
        }
        catch
        {
            SubmissionPath.Remove(folder);
            throw;
        }
        // A refusal or a replay (whose first attempt has its own copy) leaves this copy unused.
        if (outcome.Problem is not null || outcome.Replayed) SubmissionPath.Remove(folder);
        if (outcome.Problem is not null) return outcome.Problem;
        var submitted = outcome.Value!;
        if (!outcome.Replayed)
            log.LogInformation("Submission {SubmissionId} of {AgentId} to task {TaskId}: {Files} files, {Bytes} bytes copied from {Path}",
                submitted.Id, submitted.AgentId, taskId, submitted.Files, submitted.Bytes, submitted.Path);
        return TypedResults.Created(ApiRoutes.TaskSubmissions(taskId), submitted);
    }

    /// <summary>Why <paramref name="agentId"/> may not hand in work for the task now, or null.</summary>
    private static async Task<Refusal?> Admissible(CyAgentsDbContext db, string taskId, string agentId, TaskOptions rules, CancellationToken ct)
    {
        if (await AgentStanding.RetiredAsync(db, agentId, "hand in work", ct) is { } retired) return retired;
        var task = await db.Set<TaskRecord>().AsNoTracking().FirstOrDefaultAsync(t => t.Id == taskId, ct);
        if (task is null) return Refusal.NotFound($"no task '{taskId}'");
        var cycle = await MarketView.CurrentCycleAsync(db, ct);
        if (!TaskRules.TakesSubmissions(task.State, task.DeadlineCycle, cycle))
            return new Refusal(ErrorCodes.TaskClosed, task.State == TaskState.Open
                ? $"task '{taskId}' took submissions through cycle {task.DeadlineCycle}; this is cycle {cycle}"
                : $"task '{taskId}' is {task.State.ToString().ToLowerInvariant()}");
        var mine = await db.Set<TaskSubmissionRecord>().AsNoTracking().Where(s => s.AgentId == agentId && s.State == SubmissionState.Pending)
            .Select(s => s.TaskId).ToListAsync(ct);
        if (mine.Contains(taskId))
            return new Refusal(ErrorCodes.SubmissionLimit, $"a submission of yours to task '{taskId}' is still waiting for its verdict");
        if (mine.Count >= rules.MaxPendingPerAgent)
            return new Refusal(ErrorCodes.SubmissionLimit, $"{mine.Count} submissions of yours are waiting for a verdict; the limit is {rules.MaxPendingPerAgent}");
        var made = await db.Set<TaskSubmissionRecord>().CountAsync(s => s.TaskId == taskId && s.AgentId == agentId, ct);
        if (made >= rules.MaxSubmissionsPerAgent)
            return new Refusal(ErrorCodes.SubmissionLimit, $"you made {made} submissions to task '{taskId}'; the limit is {rules.MaxSubmissionsPerAgent}");
        return null;
    }

    private static async Task<Results<Ok<SubmissionResponse>, ProblemHttpResult>> Review(string taskId, string submissionId,
        ReviewSubmissionRequest request, ClaimsPrincipal user, HttpContext http, IdempotentWrites writes, IOptions<TaskOptions> options,
        ILoggerFactory logs)
    {
        var caller = Caller.From(user);
        var note = request.Note?.Trim();
        if (note is { Length: > 2000 }) return Problems.Validation("note", "must be at most 2000 characters");
        if (note is { Length: > 0 } && HumanText.Problem(note) is { } text) return Problems.Validation("note", text);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.ReviewSubmissionRequest);
        var outcome = await writes.RunAsync(http, caller, body, Json.SubmissionResponse, StatusCodes.Status200OK, async w =>
        {
            var task = await w.Db.Set<TaskRecord>().FirstOrDefaultAsync(t => t.Id == taskId, w.Ct);
            if (task is null) return Refusal.NotFound($"no task '{taskId}'");
            var submission = await w.Db.Set<TaskSubmissionRecord>().FirstOrDefaultAsync(s => s.Id == submissionId && s.TaskId == taskId, w.Ct);
            if (submission is null) return Refusal.NotFound($"no submission '{submissionId}' to task '{taskId}'");
            if (task.Verifier != VerifierKind.Human) return Refusal.Conflict($"task '{taskId}' is verified by its command, not by review");
            if (submission.State != SubmissionState.Pending)
                return Refusal.Conflict($"submission '{submissionId}' was judged already ({submission.State})");
            var cycle = await MarketView.CurrentCycleAsync(w.Db, w.Ct);
            await new TaskBoard(w.Db, w.Ledger).JudgeAsync(task, submission, request.Approve, null,
                note is { Length: > 0 } ? note : request.Approve ? "approved by the operator" : "rejected by the operator", cycle, w.Now, w.Ct);
            return submission.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var judged = outcome.Value!;
        // Judged work is not needed any more; the verdict stays with the record.
        SubmissionPath.Remove(Path.Combine(Path.GetFullPath(options.Value.SubmissionsRoot), judged.Id));
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Submission {SubmissionId} to task {TaskId} reviewed: {State}", judged.Id, taskId, judged.State);
        return TypedResults.Ok(judged);
    }
}
