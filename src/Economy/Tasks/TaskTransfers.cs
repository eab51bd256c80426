using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Tasks;

/// <summary>
/// The ledger operations of a task's reward (ADR 0132), with ids derived from the task id so that posting, awarding and
/// returning are idempotent: a replay reuses the same ids and changes nothing. The reward is a pending transfer
/// poster → escrow (<c>task:&lt;id&gt;:escrow</c>); an award posts it (<c>task:&lt;id&gt;:award-post</c>) and pays escrow →
/// submitter (<c>task:&lt;id&gt;:award</c>); a return posts it (<c>task:&lt;id&gt;:return-post</c>) and pays escrow → poster
/// (<c>task:&lt;id&gt;:return</c>). A pending transfer resolves at most once, so an award and a return exclude each other in
/// the ledger itself, and a second award to another agent conflicts on the award id: a reward is never paid twice.
/// </summary>
public static class TaskTransfers
{
    /// <summary>The pending transfer that holds the reward.</summary>
    public static string Escrow(string taskId) => $"task:{taskId}:escrow";
    /// <summary>The transfer that pays the reward to the winner.</summary>
    public static string Award(string taskId) => $"task:{taskId}:award";
    /// <summary>The transfer that returns the reward to the poster.</summary>
    public static string Return(string taskId) => $"task:{taskId}:return";

    /// <summary>The account that pays a task's reward: the poster's own, or the treasury's for the operator (null).</summary>
    public static string PosterAccount(string? posterAgentId) => posterAgentId is null ? AccountIds.Treasury : AccountIds.ForAgent(posterAgentId);

    /// <summary>The pending escrow of <paramref name="reward"/> from the poster, made when the task is posted.</summary>
    public static TransferRequest EscrowOf(string taskId, string? posterAgentId, long reward, long cycle) =>
        new(Escrow(taskId), PosterAccount(posterAgentId), AccountIds.Escrow, reward, TransferKind.TaskEscrow, cycle,
            $"reward of task {taskId} held", Pending: true);

    /// <summary>Posts the escrow and pays the reward to <paramref name="agentId"/>: one linked batch.</summary>
    public static IReadOnlyList<LedgerOperation> AwardTo(string taskId, string agentId, long reward, long cycle) =>
    [
        new PendingResolution($"task:{taskId}:award-post", Escrow(taskId), Void: false, Cycle: cycle, Memo: $"task {taskId} awarded"),
        new TransferRequest(Award(taskId), AccountIds.Escrow, AccountIds.ForAgent(agentId), reward, TransferKind.TaskReward, cycle,
            $"reward of task {taskId}"),
    ];

    /// <summary>Posts the escrow and returns the reward to the poster: one linked batch.</summary>
    public static IReadOnlyList<LedgerOperation> ReturnTo(string taskId, string? posterAgentId, long reward, long cycle) =>
    [
        new PendingResolution($"task:{taskId}:return-post", Escrow(taskId), Void: false, Cycle: cycle, Memo: $"task {taskId} expired"),
        new TransferRequest(Return(taskId), AccountIds.Escrow, PosterAccount(posterAgentId), reward, TransferKind.TaskReturn, cycle,
            $"reward of task {taskId} returned"),
    ];
}
