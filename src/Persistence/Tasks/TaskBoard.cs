using System.Text.Json;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Tasks;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tasks;

/// <summary>What posting a task needs (its terms were checked with <see cref="TaskRules.Check"/>).</summary>
/// <param name="Id">The task id (also the root of its transfer ids, <see cref="TaskTransfers"/>).</param>
/// <param name="PosterAgentId">The paying agent; null for the operator (the treasury pays).</param>
/// <param name="Title">One line.</param>
/// <param name="Description">What to hand in.</param>
/// <param name="Reward">Credits, escrowed at once.</param>
/// <param name="Cycle">The current cycle.</param>
/// <param name="DeadlineCycles">Cycles it stays open after <paramref name="Cycle"/>.</param>
/// <param name="Verifier">Command or human review.</param>
/// <param name="Runtime">The command's runtime (e.g. python).</param>
/// <param name="Command">The command's argv.</param>
/// <param name="PostedAt">When.</param>
public sealed record TaskTerms(string Id, string? PosterAgentId, string Title, string Description, long Reward, long Cycle, int DeadlineCycles,
    VerifierKind Verifier, string? Runtime, IReadOnlyList<string>? Command, DateTimeOffset PostedAt);

/// <summary>
/// The one owner of a task's life (ADR 0132): posts it (reward escrowed), records submissions, judges them (the first
/// pass while open is paid, once) and expires it (reward returned). Like <see cref="Bids.BidBook"/> it joins the caller's
/// unit of work — records and events are staged on the context, credits move on a ledger joined to the same transaction —
/// and the caller saves and commits. A save that finds the task's state changed under it (another writer closed it) fails
/// with <see cref="DbUpdateConcurrencyException"/>, and the ledger's ids refuse a second payment on their own.
/// </summary>
public sealed class TaskBoard(CyAgentsDbContext db, ILedger ledger)
{
    /// <summary>Escrows the reward (a pending transfer from the poster; an overdraft throws <see cref="LedgerException"/>) and adds the open task.</summary>
    public async Task<TaskRecord> PostAsync(TaskTerms terms, CancellationToken ct)
    {
        var escrow = TaskTransfers.EscrowOf(terms.Id, terms.PosterAgentId, terms.Reward, terms.Cycle);
        await ledger.TransferAsync(escrow, ct);
        var task = new TaskRecord
        {
            Id = terms.Id, Title = terms.Title, Description = terms.Description, Reward = terms.Reward, PosterAgentId = terms.PosterAgentId,
            PostedCycle = terms.Cycle, DeadlineCycle = TaskRules.DeadlineCycle(terms.Cycle, terms.DeadlineCycles), Verifier = terms.Verifier,
            VerifierRuntime = terms.Verifier == VerifierKind.Command ? terms.Runtime : null,
            VerifierCommandJson = terms.Verifier == VerifierKind.Command ? JsonSerializer.Serialize(terms.Command) : null,
            EscrowTransferId = escrow.Id, CreatedAt = terms.PostedAt,
        };
        db.Add(task);
        db.AddEvent(EventTypes.TaskPosted, terms.PosterAgentId, terms.Cycle, terms.PostedAt,
            new { taskId = task.Id, title = task.Title, reward = task.Reward, deadlineCycle = task.DeadlineCycle, verifier = task.Verifier.ToString() });
        return task;
    }

    /// <summary>Adds a pending submission whose copy has been taken.</summary>
    public TaskSubmissionRecord Submit(TaskRecord task, string submissionId, string agentId, string? executionId, long cycle, string path,
        int files, long bytes, DateTimeOffset at)
    {
        var submission = new TaskSubmissionRecord
        {
            Id = submissionId, TaskId = task.Id, AgentId = agentId, ExecutionId = executionId, Cycle = cycle, Path = path, Files = files,
            Bytes = bytes, CreatedAt = at,
        };
        db.Add(submission);
        db.AddEvent(EventTypes.TaskSubmitted, agentId, cycle, at, new { taskId = task.Id, submissionId, path, files, bytes });
        return submission;
    }

    /// <summary>
    /// Records a pending submission's verdict. A pass while the task is open pays the reward to the submitter (and closes the
    /// task); a pass after it closed, and every fail, earns nothing. Returns the submission's new state.
    /// </summary>
    public async Task<SubmissionState> JudgeAsync(TaskRecord task, TaskSubmissionRecord submission, bool passed, int? exitCode, string? verdict,
        long cycle, DateTimeOffset at, CancellationToken ct)
    {
        if (submission.State != SubmissionState.Pending)
            throw new InvalidOperationException($"submission {submission.Id} was judged already ({submission.State})");
        if (submission.TaskId != task.Id) throw new ArgumentException($"submission {submission.Id} is not for task {task.Id}", nameof(submission));
        var state = TaskRules.Judged(passed, task.State);
        if (state == SubmissionState.Awarded)
        {
            await ledger.ApplyBatchAsync(TaskTransfers.AwardTo(task.Id, submission.AgentId, task.Reward, cycle), ct);
            task.State = TaskState.Awarded;
            task.WinnerAgentId = submission.AgentId;
            task.WinnerSubmissionId = submission.Id;
            task.ClosedAt = at;
        }
        submission.State = state;
        submission.ExitCode = exitCode;
        submission.Verdict = Cut(verdict);
        submission.JudgedAt = at;
        db.AddEvent(EventTypes.TaskVerified, submission.AgentId, cycle, at,
            new { taskId = task.Id, submissionId = submission.Id, passed, exitCode, state = state.ToString() });
        if (state == SubmissionState.Awarded)
            db.AddEvent(EventTypes.TaskAwarded, submission.AgentId, cycle, at,
                new { taskId = task.Id, submissionId = submission.Id, reward = task.Reward, posterAgentId = task.PosterAgentId });
        return state;
    }

    /// <summary>Closes an open task unawarded: the reward returns to the poster and its unjudged submissions expire.</summary>
    public async Task ExpireAsync(TaskRecord task, long cycle, DateTimeOffset at, CancellationToken ct)
    {
        if (task.State != TaskState.Open) throw new InvalidOperationException($"task {task.Id} is {task.State}, not open");
        await ledger.ApplyBatchAsync(TaskTransfers.ReturnTo(task.Id, task.PosterAgentId, task.Reward, cycle), ct);
        task.State = TaskState.Expired;
        task.ClosedAt = at;
        var pending = await db.Set<TaskSubmissionRecord>().Where(s => s.TaskId == task.Id && s.State == SubmissionState.Pending).ToListAsync(ct);
        foreach (var s in pending)
        {
            s.State = SubmissionState.Expired;
            s.Verdict = "the task's deadline passed before it was judged";
            s.JudgedAt = at;
        }
        db.AddEvent(EventTypes.TaskExpired, task.PosterAgentId, cycle, at,
            new { taskId = task.Id, reward = task.Reward, returnedTo = TaskTransfers.PosterAccount(task.PosterAgentId), unjudged = pending.Count });
    }

    /// <summary>The open tasks whose deadline is before <paramref name="cycle"/>, oldest first.</summary>
    public Task<List<TaskRecord>> DueAsync(long cycle, CancellationToken ct) =>
        db.Set<TaskRecord>().Where(t => t.State == TaskState.Open && t.DeadlineCycle < cycle).OrderBy(t => t.Id).ToListAsync(ct);

    /// <summary>The argv of a command verifier.</summary>
    public static IReadOnlyList<string> CommandOf(TaskRecord task) =>
        task.VerifierCommandJson is null ? [] : JsonSerializer.Deserialize<List<string>>(task.VerifierCommandJson) ?? [];

    private static string? Cut(string? text) => text is { Length: > 4096 } ? text[^4096..] : text;
}
