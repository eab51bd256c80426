using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Retirement;

/// <summary>
/// Retires bankrupt, idle agents before each clearing (ADR 0136). Before cycle <c>c</c> clears, an active agent retires when,
/// with <c>N</c> = <see cref="RetirementOptions.IdleCycles"/>:
/// <list type="bullet">
/// <item>it was created before cycle <c>c − N</c> (it has lived through the whole window <c>c − N … c − 1</c>);</item>
/// <item>its available credits (posted − reserved) are at most <see cref="RetirementOptions.DustCredits"/>;</item>
/// <item>it has no open bid, and no bid of its was filed for any cycle from <c>c − N</c> on (whatever became of it);</item>
/// <item>it had no income filed under a cycle from <c>c − N</c> on: a transfer into its account of any kind but the
/// returns of its own credits (<see cref="TransferKind.Refund"/>, <see cref="TransferKind.HostFaultRefund"/>, an escrow's
/// void or remainder), so rewards, task rewards, gifts, endowments and spawn transfers all count.</item>
/// </list>
/// Spending needs a running execution, and running needs a won bid, so with no bid and no income in the window the balance
/// was at most what it is now all through it: the agent was broke and idle for N cycles. Retiring sets status Retired and
/// adds <c>agent.retired</c> in one transaction; then the workspace is archived and a line goes to system.log. Retirement
/// is final. Idempotent per cycle: a retired agent is no candidate, and a workspace left by a crash is archived on the next run.
/// </summary>
public sealed class AgentRetirement(IDbContextFactory<CyAgentsDbContext> databases, RetirementOptions options, WorkspaceArchive archive,
    TimeProvider clock, ILogger<AgentRetirement> logger) : ICycleStep
{
    private static readonly TransferKind[] Returns = [TransferKind.Refund, TransferKind.HostFaultRefund, TransferKind.BidEscrow];

    /// <inheritdoc />
    public string Name => "retirement";

    /// <inheritdoc />
    public async Task BeforeClearingAsync(long cycle, CancellationToken ct)
    {
        if (options.IdleCycles == 0) return;
        var windowStart = cycle - options.IdleCycles;
        foreach (var agentId in await CandidatesAsync(windowStart, ct))
        {
            if (await RetireAsync(agentId, cycle, windowStart, ct) is { } available)
                logger.LogInformation("Agent {AgentId} retired before cycle {Cycle}: {Available} credits available, no bid and no income " +
                                      "in cycles {WindowStart} to {WindowEnd}", agentId, cycle, available, windowStart, cycle - 1);
        }
        await ArchiveRetiredAsync(ct);
    }

    /// <inheritdoc />
    public Task AfterExecutionsAsync(long cycle, CancellationToken ct) => Task.CompletedTask;

    private async Task<List<string>> CandidatesAsync(long windowStart, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        return await Idle(db, windowStart).Select(a => a.Id).OrderBy(id => id).ToListAsync(ct);
    }

    /// <summary>The active agents that meet every condition, as one query (re-run inside each retirement's transaction).</summary>
    private IQueryable<AgentRecord> Idle(CyAgentsDbContext db, long windowStart)
    {
        var dust = options.DustCredits;
        // "agent:" + id is AccountIds.ForAgent written so the database can evaluate it.
        return db.Set<AgentRecord>().Where(a => a.Status == AgentStatus.Active && a.CreatedCycle < windowStart
            && db.Set<LedgerAccountRecord>().Any(x => x.Id == "agent:" + a.Id && x.Posted - x.Reserved <= dust)
            && !db.Set<BidRecord>().Any(b => b.AgentId == a.Id && (b.Status == BidStatus.Open || b.Cycle >= windowStart))
            // Income is what reached the account: posted transfers and posted resolutions, never a pending transfer itself.
            && !db.Set<LedgerTransferRecord>().Any(t => t.CreditAccountId == "agent:" + a.Id && t.Cycle >= windowStart
                && (t.State == TransferState.Posted || t.State == TransferState.PendingPosted) && !Returns.Contains(t.Kind)));
    }

    private async Task<long?> RetireAsync(string agentId, long cycle, long windowStart, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // Checked again, and retired conditionally, inside the transaction: a bid or income since the candidates were read wins.
        var changed = await Idle(db, windowStart).Where(a => a.Id == agentId)
            .ExecuteUpdateAsync(u => u.SetProperty(a => a.Status, AgentStatus.Retired), ct);
        if (changed != 1) return null;
        var account = await db.Set<LedgerAccountRecord>().AsNoTracking().SingleAsync(x => x.Id == AccountIds.ForAgent(agentId), ct);
        var available = account.Posted - account.Reserved;
        db.AddEvent(EventTypes.AgentRetired, agentId, cycle, clock.GetUtcNow(), new
        {
            agentId, cycle, reason = "bankrupt and idle", available, idleCycles = options.IdleCycles, archive = archive.PathOf(agentId),
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return available;
    }

    // After the commit, so a failed archive never leaves an active agent without its workspace; a crash in between is
    // repaired here on the next run.
    private async Task ArchiveRetiredAsync(CancellationToken ct)
    {
        List<string> retired;
        await using (var db = await databases.CreateDbContextAsync(ct))
            retired = await db.Set<AgentRecord>().Where(a => a.Status == AgentStatus.Retired).Select(a => a.Id).ToListAsync(ct);
        foreach (var agentId in retired)
        {
            try
            {
                if (archive.Archive(agentId) is { } archived)
                    logger.LogInformation("Archived the workspace of retired agent {AgentId} at {Archive}", agentId, archived);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                logger.LogWarning("The workspace of retired agent {AgentId} was not archived: {Reason}", agentId, e.Message);
            }
        }
    }
}
