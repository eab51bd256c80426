using System.Security.Cryptography;
using System.Text;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Cycles;

/// <summary>What the host gave back to one agent whose execution it ended.</summary>
/// <param name="ExecutionId">The lost execution.</param>
/// <param name="AgentId">Its agent.</param>
/// <param name="Refunded">Credits returned (its clearing charge; 0 when it paid nothing).</param>
/// <param name="ReentryBidId">The re-entry bid placed for the next cycle, or null when the agent already had an open bid,
/// cannot pay, or is no longer active.</param>
public sealed record HostFaultRepair(string ExecutionId, string AgentId, long Refunded, string? ReentryBidId);

/// <summary>
/// The rule for an execution the host ended (ADR 0085): the agent never had the window it paid for, so (1) its clearing
/// charge comes back from the treasury as a <see cref="TransferKind.HostFaultRefund"/> transfer whose id derives from the
/// execution id, and (2) unless it already has an open bid, a re-entry bid for the same bundle and amount (capped at what
/// it can pay) is placed for the next cycle through the bid book. Both happen in one transaction and a repeat changes
/// nothing, so the cycle and crash recovery can both call it for the same execution.
/// </summary>
public static class HostFaultSettlement
{
    /// <summary>The refund transfer's id: <c>execution:&lt;id&gt;:host-fault-refund</c>.</summary>
    public static string RefundId(string executionId) => $"execution:{executionId}:host-fault-refund";

    /// <summary>The re-entry bid's id: <c>re-&lt;executionId&gt;</c>, hashed when that would pass the 64 characters of a bid id.</summary>
    public static string ReentryBidId(string executionId)
    {
        var id = "re-" + executionId;
        if (id.Length <= 64) return id;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(executionId)))[..16];
        return $"{id[..47]}-{hash}";
    }

    /// <summary>
    /// Refunds and re-enters the agent of <paramref name="executionId"/> if its status is a host fault; in its own
    /// transaction on <paramref name="db"/>. Returns null when there is nothing (more) to do.
    /// </summary>
    public static async Task<HostFaultRepair?> RepairAsync(CyAgentsDbContext db, ILedger ledger, string executionId, DateTimeOffset now,
        CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var execution = await db.Set<ExecutionRecord>().AsNoTracking().SingleOrDefaultAsync(e => e.Id == executionId, ct);
        if (execution is null || !execution.Status.IsHostFault() || execution.BidId is null) return null;
        var reentryId = ReentryBidId(execution.Id);
        if (await db.Set<BidRecord>().AnyAsync(b => b.Id == reentryId, ct)) return null;
        var bid = await db.Set<BidRecord>().AsNoTracking().SingleOrDefaultAsync(b => b.Id == execution.BidId, ct);
        if (bid is null) return null;

        var refunded = bid.Payment ?? 0;
        var account = AccountIds.ForAgent(execution.AgentId);
        if (refunded > 0)
        {
            // Idempotent by id: a repeat after a crash returns the first transfer and moves nothing.
            await ledger.TransferAsync(new TransferRequest(RefundId(execution.Id), AccountIds.Treasury, account, refunded,
                TransferKind.HostFaultRefund, execution.Cycle,
                $"refund of bid {bid.Id}: execution {execution.Id} ended by the host ({execution.Status})"), ct);
        }

        string? placed = null;
        var book = new BidBook(db, ledger);
        var active = await db.Set<AgentRecord>().AnyAsync(a => a.Id == execution.AgentId && a.Status == AgentStatus.Active, ct);
        if (active && !await book.HasOpenBidAsync(execution.AgentId, ct))
        {
            var amount = Math.Min(bid.Amount, (await ledger.GetBalanceAsync(account, ct)).Available);
            if (amount >= 1)
            {
                await book.PlaceAsync(new BidPlacement(reentryId, execution.AgentId, execution.Cycle + 1, bid.Bundle, amount, now,
                    $"re-entry bid: execution {execution.Id} was ended by the host"), ct);
                placed = reentryId;
            }
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return refunded > 0 || placed is not null ? new HostFaultRepair(execution.Id, execution.AgentId, refunded, placed) : null;
    }
}
