using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Tasks;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Tasks;
using CyAgents.SystemApi.Tasks;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tasks;

/// <summary>
/// The tasks' per-cycle step (ADRs 0132, 0133). Before a cycle clears it verifies the waiting submissions, then closes the
/// tasks whose deadline passed (their rewards return to the posters); after the cycle's executions it verifies what they
/// handed in. Each verifier is the task's command run in a network-less, capped sandbox (<see cref="ExecutionRequest.Verifier"/>)
/// over the submission's read-only copy, without the System API; exit 0 passes. Submissions are verified one at a time in
/// submission order, at most <see cref="TaskOptions.MaxVerificationsPerStep"/> per step, so the first verified pass wins.
/// The host pays for verification: it runs outside the market, bounded by those caps.
/// </summary>
public sealed class TaskVerification(IDbContextFactory<CyAgentsDbContext> databases, Func<CyAgentsDbContext, ILedger> ledgers, ISandbox sandbox,
    IRuntimeImages runtimes, TaskOptions options, ILogger<TaskVerification> logger, TimeProvider clock) : ICycleStep
{
    /// <inheritdoc/>
    public string Name => "tasks";

    /// <inheritdoc/>
    public async Task BeforeClearingAsync(long cycle, CancellationToken ct)
    {
        await VerifyPendingAsync(cycle, ct);
        await ExpireDueAsync(cycle, ct);
    }

    /// <inheritdoc/>
    public Task AfterExecutionsAsync(long cycle, CancellationToken ct) => VerifyPendingAsync(cycle, ct);

    /// <summary>Verifies up to <see cref="TaskOptions.MaxVerificationsPerStep"/> waiting submissions to command tasks; returns how many were judged.</summary>
    public async Task<int> VerifyPendingAsync(long cycle, CancellationToken ct)
    {
        List<(string SubmissionId, string TaskId)> waiting;
        await using (var db = await databases.CreateDbContextAsync(ct))
        {
            waiting = await (from s in db.Set<TaskSubmissionRecord>().AsNoTracking()
                             join t in db.Set<TaskRecord>().AsNoTracking() on s.TaskId equals t.Id
                             where s.State == SubmissionState.Pending && t.Verifier == VerifierKind.Command
                             orderby s.Id
                             select new { s.Id, s.TaskId }).Take(options.MaxVerificationsPerStep)
                .Select(x => ValueTuple.Create(x.Id, x.TaskId)).ToListAsync(ct);
        }
        var judged = 0;
        foreach (var (submissionId, taskId) in waiting)
        {
            ct.ThrowIfCancellationRequested();
            if (await VerifyAsync(submissionId, taskId, cycle, ct)) judged++;
        }
        return judged;
    }

    private async Task<bool> VerifyAsync(string submissionId, string taskId, long cycle, CancellationToken ct)
    {
        TaskRecord task;
        TaskSubmissionRecord submission;
        await using (var db = await databases.CreateDbContextAsync(ct))
        {
            task = await db.Set<TaskRecord>().AsNoTracking().FirstAsync(t => t.Id == taskId, ct);
            submission = await db.Set<TaskSubmissionRecord>().AsNoTracking().FirstAsync(s => s.Id == submissionId, ct);
        }
        var folder = Path.Combine(Path.GetFullPath(options.SubmissionsRoot), submissionId);
        // A closed task's waiting work is not run at all: nothing could be paid for it.
        var ran = task.State == TaskState.Open;
        var (passed, exitCode, verdict) = !ran
            ? (false, (int?)null, $"the task was {task.State.ToString().ToLowerInvariant()} before this submission was verified")
            : await RunVerifierAsync(task, submission, folder, cycle, ct);

        await using (var db = await databases.CreateDbContextAsync(ct))
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var current = await db.Set<TaskRecord>().FirstAsync(t => t.Id == taskId, ct);
            var pending = await db.Set<TaskSubmissionRecord>().FirstAsync(s => s.Id == submissionId, ct);
            if (pending.State != SubmissionState.Pending) return false;
            try
            {
                var state = await new TaskBoard(db, ledgers(db)).JudgeAsync(current, pending, passed, exitCode, verdict, cycle, clock.GetUtcNow(), ct);
                await db.SaveChangesAsync(ct);
                await tx.CommitAsync(ct);
                // A submission that came too late is not "verified: Failed (exit null)": the verifier never ran for it.
                if (ran)
                    logger.LogInformation("Submission {SubmissionId} of {AgentId} to task {TaskId} verified: {State} (exit {ExitCode})",
                        submissionId, pending.AgentId, taskId, state, exitCode);
                else
                    logger.LogInformation("Submission {SubmissionId} of {AgentId} to task {TaskId} not verified: {State} ({Verdict})",
                        submissionId, pending.AgentId, taskId, state, verdict);
            }
            catch (Exception e) when (e is DbUpdateConcurrencyException or LedgerException)
            {
                // Another writer closed the task meanwhile; the submission is judged again next step against the new state.
                logger.LogWarning("Verdict of {SubmissionId} for task {TaskId} not recorded ({Error}); it is judged again next step",
                    submissionId, taskId, e.Message);
                return false;
            }
        }
        SubmissionPath.Remove(folder);
        return true;
    }

    private async Task<(bool Passed, int? ExitCode, string Verdict)> RunVerifierAsync(TaskRecord task, TaskSubmissionRecord submission, string folder,
        long cycle, CancellationToken ct)
    {
        if (!Directory.Exists(folder)) return (false, null, "the submission's copy is missing on the host; it cannot be verified");
        string image;
        try { image = await runtimes.EnsureAsync(task.VerifierRuntime ?? "python", ct); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (false, null, $"the verifier's runtime '{task.VerifierRuntime}' is not available: {e.Message}");
        }
        var bundle = ResourceBundle.Create(options.VerifierCpuMillicores, options.VerifierMemoryMiB, 0, 0);
        var executionId = "ver-" + submission.Id;
        var request = new ExecutionRequest(executionId, submission.AgentId, cycle, bundle, folder, NoApi(submission.AgentId, executionId, cycle, bundle),
            TimeSpan.FromSeconds(options.VerifierTimeoutSeconds))
        {
            Program = new AgentProgram(image, TaskBoard.CommandOf(task)),
            Verifier = true,
        };
        var outcome = await sandbox.RunAsync(request, ct);
        var tail = string.Join('\n', outcome.Logs.TakeLast(20).Select(l => l.Text));
        var passed = outcome.Status == ExecutionStatus.Succeeded && outcome.ExitCode == 0;
        var verdict = outcome.Status switch
        {
            ExecutionStatus.TimedOut => $"the verifier ran longer than {options.VerifierTimeoutSeconds} s and was stopped",
            ExecutionStatus.LaunchFailed or ExecutionStatus.Abandoned or ExecutionStatus.HostFault => $"the verifier did not run: {outcome.Error}",
            ExecutionStatus.OOMKilled => $"the verifier ran out of its {options.VerifierMemoryMiB} MiB",
            _ => tail,
        };
        return (passed, outcome.ExitCode, verdict);
    }

    // A verifier gets no token and no socket (the sandbox mounts none for it); the record only satisfies the request's shape.
    private static AgentEnvironment NoApi(string agentId, string executionId, long cycle, ResourceBundle bundle) => new()
    {
        AgentId = agentId, ExecutionId = executionId, Token = "", Cycle = cycle,
        Bundle = new ResourceBundleDto(bundle.CpuMillicores, bundle.MemoryMiB, 0, 0), Balance = new BalanceView(0, 0, 0),
        Prices = new PricesView(0, 0, 0, 0), ApiSocket = "",
    };

    /// <summary>Closes every open task whose deadline is before <paramref name="cycle"/>: its reward returns to the poster.</summary>
    public async Task<int> ExpireDueAsync(long cycle, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var board = new TaskBoard(db, ledgers(db));
        var due = await board.DueAsync(cycle, ct);
        var ids = due.Select(t => t.Id).ToList();
        var unjudged = await db.Set<TaskSubmissionRecord>().AsNoTracking()
            .Where(s => ids.Contains(s.TaskId) && s.State == SubmissionState.Pending).Select(s => s.Id).ToListAsync(ct);
        var now = clock.GetUtcNow();
        foreach (var task in due) await board.ExpireAsync(task, cycle, now, ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        foreach (var id in unjudged) SubmissionPath.Remove(Path.Combine(Path.GetFullPath(options.SubmissionsRoot), id));
        foreach (var task in due)
            logger.LogInformation("Task {TaskId} expired unawarded after cycle {DeadlineCycle}: {Reward} credits returned to {Poster}",
                task.Id, task.DeadlineCycle, task.Reward, task.PosterAgentId ?? "the treasury");
        return due.Count;
    }
}
