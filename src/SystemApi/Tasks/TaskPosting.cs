using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Tasks;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Tasks;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Endpoints;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Market;

namespace CyAgents.SystemApi.Tasks;

/// <summary>
/// Posting a task, shared by <c>POST /v1/tasks</c>, <c>cyagents tasks post</c> without a running <c>run</c> and the task
/// feed <c>run --tasks</c> loads: the terms are checked, then the reward is escrowed and the task added in the caller's unit of work.
/// </summary>
public static class TaskPosting
{
    /// <summary>A new task id: time-ordered, so ordering by id is ordering by posting.</summary>
    public static string NewId() => "tsk-" + Guid.CreateVersion7().ToString("N");

    /// <summary>The request's verifier kind, or null when it names none or an unknown one.</summary>
    public static VerifierKind? KindOf(TaskVerifierDto? verifier) => verifier?.Kind?.ToLowerInvariant() switch
    {
        "command" => VerifierKind.Command,
        "human" => VerifierKind.Human,
        _ => null,
    };

    /// <summary>What is wrong with a request (a validation refusal), or null.</summary>
    public static Refusal? Check(PostTaskRequest request, long maxReward)
    {
        var errors = new Dictionary<string, string[]>();
        var kind = KindOf(request.Verifier);
        if (kind is null) errors["verifier.kind"] = ["must be command or human"];
        foreach (var (field, message) in TaskRules.Check(request.Title?.Trim(), request.Description, request.Reward, maxReward, request.DeadlineCycles,
                     kind ?? VerifierKind.Human, kind is null ? null : request.Verifier!.Command))
            errors[field] = [message];
        if (request.Title is { } title && !errors.ContainsKey("title") && HumanText.Problem(title.Trim(), singleLine: true) is { } t) errors["title"] = [t];
        if (request.Description is { Length: > 0 } d && !errors.ContainsKey("description") && HumanText.Problem(d) is { } dt) errors["description"] = [dt];
        if (kind == VerifierKind.Command && request.Verifier!.Runtime is { } runtime && !RuntimeNames.All.Contains(runtime))
            errors["verifier.runtime"] = [$"must be one of {string.Join(", ", RuntimeNames.All)}"];
        if (kind == VerifierKind.Human && request.Verifier!.Runtime is not null) errors["verifier.runtime"] = ["is only for a command verifier"];
        return errors.Count == 0 ? null : Refusal.Validation(errors);
    }

    /// <summary>
    /// Escrows the reward from <paramref name="posterAgentId"/> (the treasury when null) and adds the task, in the current
    /// cycle. A refusal (unknown or retired poster, too few credits) changes nothing.
    /// </summary>
    public static async Task<(TaskRecord? Task, Refusal? Refusal)> PostAsync(CyAgentsDbContext db, ILedger ledger, PostTaskRequest request,
        string? posterAgentId, string taskId, DateTimeOffset now, CancellationToken ct)
    {
        if (posterAgentId is not null && await AgentStanding.RetiredAsync(db, posterAgentId, "post a task", ct) is { } retired)
            return (null, retired);
        var cycle = await MarketView.CurrentCycleAsync(db, ct);
        var kind = KindOf(request.Verifier)!.Value;
        var terms = new TaskTerms(taskId, posterAgentId, request.Title!.Trim(), request.Description ?? "", request.Reward, cycle,
            request.DeadlineCycles, kind, kind == VerifierKind.Command ? request.Verifier!.Runtime ?? RuntimeNames.Python : null,
            request.Verifier!.Command, now);
        try
        {
            return (await new TaskBoard(db, ledger).PostAsync(terms, ct), null);
        }
        catch (LedgerException e) when (e.Error == LedgerError.InsufficientFunds)
        {
            return (null, Refusal.InsufficientFunds($"the reward of {request.Reward} credits is more than the poster's available credits"));
        }
    }

    /// <summary>The wire form of a task.</summary>
    public static TaskResponse ToWire(this TaskRecord t) => new(t.Id, t.Title, t.Description, t.Reward, t.PosterAgentId, t.PostedCycle,
        t.DeadlineCycle, new TaskVerifierDto(t.Verifier == VerifierKind.Command ? "command" : "human", t.VerifierRuntime,
            t.Verifier == VerifierKind.Command ? TaskBoard.CommandOf(t) : null),
        t.State.ToString(), t.WinnerAgentId, t.WinnerSubmissionId, t.EscrowTransferId);

    /// <summary>The wire form of a submission.</summary>
    public static SubmissionResponse ToWire(this TaskSubmissionRecord s) =>
        new(s.Id, s.TaskId, s.AgentId, s.Cycle, s.Path, s.Files, s.Bytes, s.State.ToString(), s.ExitCode, s.Verdict);
}
