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
/// was at most what it is now all through it: the agent was broke and idle for N cycles. Balances and transfers are read
/// through the ledger. Retiring sets status Retired and
/// adds <c>agent.retired</c> in one transaction; then the workspace is archived and a line goes to system.log. Retirement
/// is final. Idempotent per cycle: a retired agent is no candidate, and a workspace left by a crash is archived on the next run.
/// </summary>
public sealed class AgentRetirement(IDbContextFactory<CyAgentsDbContext> databases, Func<CyAgentsDbContext, ILedger> ledgerFor,
    RetirementOptions options, WorkspaceArchive archive, TimeProvider clock, ILogger<AgentRetirement> logger) : ICycleStep
{
    private static readonly TransferKind[] Returns = [TransferKind.Refund, TransferKind.HostFaultRefund, TransferKind.BidEscrow];
    // How much of an account's history is read to look for income: newest first, so the window's transfers come first.
    private const int Page = 100, MostTransfersRead = 1_000;

    /// <inheritdoc />
    public string Name => "retirement";

    /// <inheritdoc />
    public async Task BeforeClearingAsync(long cycle, CancellationToken ct)
    {
        if (options.IdleCycles == 0) return;
        var windowStart = cycle - options.IdleCycles;
        List<string> candidates;
        await using (var db = await databases.CreateDbContextAsync(ct))
            candidates = await WithoutBids(db, windowStart).Select(a => a.Id).OrderBy(id => id).ToListAsync(ct);
        foreach (var agentId in candidates)
        {
            if (await RetireAsync(agentId, cycle, windowStart, ct) is { } available)
                logger.LogInformation("Agent {AgentId} retired before cycle {Cycle}: {Available} credits available, no bid and no income " +
                                      "in cycles {WindowStart} to {WindowEnd}", agentId, cycle, available, windowStart, cycle - 1);
        }
        await ArchiveRetiredAsync(ct);
    }

    /// <inheritdoc />
    public Task AfterExecutionsAsync(long cycle, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Active agents old enough, with no open bid and no bid filed for a cycle of the window (re-read when retiring).</summary>
    private static IQueryable<AgentRecord> WithoutBids(CyAgentsDbContext db, long windowStart) =>
        db.Set<AgentRecord>().Where(a => a.Status == AgentStatus.Active && a.CreatedCycle < windowStart
            && !db.Set<BidRecord>().Any(b => b.AgentId == a.Id && (b.Status == BidStatus.Open || b.Cycle >= windowStart)));

    private async Task<long?> RetireAsync(string agentId, long cycle, long windowStart, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var ledger = ledgerFor(db);
        var account = AccountIds.ForAgent(agentId);
        AccountBalance balance;
        try
        {
            balance = await ledger.GetBalanceAsync(account, ct);
        }
        catch (LedgerException e) when (e.Error == LedgerError.UnknownAccount)
        {
            return null; // an agent without an account is not the ledger's to judge
        }
        if (balance.Available > options.DustCredits || await HadIncomeAsync(ledger, account, windowStart, ct)) return null;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // Conditional, inside the transaction: a bid placed since the candidates were read keeps the agent active.
        var changed = await WithoutBids(db, windowStart).Where(a => a.Id == agentId)
            .ExecuteUpdateAsync(u => u.SetProperty(a => a.Status, AgentStatus.Retired), ct);
        if (changed != 1) return null;
        db.AddEvent(EventTypes.AgentRetired, agentId, cycle, clock.GetUtcNow(), new
        {
            agentId, cycle, reason = "bankrupt and idle", available = balance.Available, idleCycles = options.IdleCycles,
            archive = archive.PathOf(agentId),
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return balance.Available;
    }

    /// <summary>
    /// Whether credits reached the account, other than returns of its own, in a transfer filed under a cycle of the window.
    /// An account with more history than is read counts as having had income: retirement errs on the side of keeping an agent.
    /// </summary>
    private static async Task<bool> HadIncomeAsync(ILedger ledger, string account, long windowStart, CancellationToken ct)
    {
        for (var skip = 0; skip < MostTransfersRead; skip += Page)
        {
            var page = await ledger.GetTransfersAsync(account, skip, Page, ct);
            if (page.Any(t => t.CreditAccountId == account && t.Cycle >= windowStart && !Returns.Contains(t.Kind)
                              && t.State is TransferState.Posted or TransferState.PendingPosted))
                return true;
            // Newest first, and transfers are filed under the cycle they happen in (or the next): one page wholly before
            // the window means the rest is older still.
            if (page.Count < Page || page.All(t => t.Cycle is null || t.Cycle < windowStart - 1)) return false;
        }
        return true;
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
