using CyAgents.Economy.Bids;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

using CyAgents.Persistence.Events;

namespace CyAgents.Persistence.Bids;

/// <summary>What placing a bid needs: who asks, for which cycle, for what bundle, at what amount.</summary>
/// <param name="Id">The bid id (also the clearing tie-break key and the root of its escrow transfer id).</param>
/// <param name="AgentId">The bidding agent; its account pays the escrow.</param>
/// <param name="Cycle">The cycle the bid is for.</param>
/// <param name="Bundle">The bundle asked for.</param>
/// <param name="Amount">Credits offered; escrowed at once.</param>
/// <param name="PlacedAt">When it is placed.</param>
/// <param name="Memo">The escrow transfer's memo; by default "escrow for bid &lt;id&gt;".</param>
public sealed record BidPlacement(string Id, string AgentId, long Cycle, ResourceBundle Bundle, long Amount, DateTimeOffset PlacedAt,
    string? Memo = null);

/// <summary>
/// The one owner of a bid's life (ADR 0061): places (escrow reserved), cancels (escrow voided), freezes for a clearing,
/// settles (won at a payment, or lost) and reopens after a crash. Each status change goes through
/// <see cref="BidLifecycle"/>; an illegal one throws <see cref="BidTransitionRefusedException"/> before anything changes.
/// </summary>
/// <remarks>
/// The book joins the caller's unit of work: it stages records on the context and moves credits on the ledger (which
/// must join the same transaction), and the caller saves and commits. Settlement's escrow posts and voids are one ledger
/// batch for the whole clearing (<see cref="ClearingSettlement"/>), applied by the cycle with the rest of settlement; the
/// book records what they mean for each bid.
/// </remarks>
public sealed class BidBook(CyAgentsDbContext db, ILedger ledger)
{
    /// <summary>
    /// Escrows <see cref="BidPlacement.Amount"/> from the agent (a pending transfer <c>bid:&lt;id&gt;:escrow</c>) and adds
    /// the open bid. An overdraft throws <see cref="LedgerException"/> (<see cref="LedgerError.InsufficientFunds"/>) and adds nothing.
    /// </summary>
    public async Task<BidRecord> PlaceAsync(BidPlacement placement, CancellationToken ct)
    {
        var escrow = BidTransferIds.Escrow(placement.Id);
        await ledger.TransferAsync(new TransferRequest(escrow, AccountIds.ForAgent(placement.AgentId), AccountIds.Escrow, placement.Amount,
            TransferKind.BidEscrow, placement.Cycle, placement.Memo ?? $"escrow for bid {placement.Id}", Pending: true), ct);
        var bid = new BidRecord
        {
            Id = placement.Id, AgentId = placement.AgentId, Cycle = placement.Cycle, Bundle = placement.Bundle, Amount = placement.Amount,
            EscrowTransferId = escrow, CreatedAt = placement.PlacedAt,
        };
        db.Add(bid);
        db.AddEvent(EventTypes.BidPlaced, bid.AgentId, bid.Cycle, placement.PlacedAt,
            new { bidId = bid.Id, amount = bid.Amount, bundle = bid.Bundle.ToString() });
        return bid;
    }

    /// <summary>Cancels an open bid and voids its escrow; a bid in any other state is refused with nothing changed.</summary>
    public async Task CancelAsync(BidRecord bid, CancellationToken ct)
    {
        BidLifecycle.Require(bid.Id, bid.Status, BidStatus.Cancelled);
        await ledger.ResolveAsync(new PendingResolution(BidTransferIds.Cancel(bid.Id), bid.EscrowTransferId, Void: true, Cycle: bid.Cycle,
            Memo: $"bid {bid.Id} cancelled"), ct);
        bid.MoveTo(BidStatus.Cancelled);
    }

    /// <summary>
    /// Freezes every open bid filed for <paramref name="cycle"/> or earlier and files it under <paramref name="cycle"/>, in
    /// bid-id order (the clearing's input order). From here on new bids go to the next cycle and these cannot be cancelled.
    /// </summary>
    public async Task<IReadOnlyList<BidRecord>> FreezeAsync(long cycle, CancellationToken ct)
    {
        var bids = await db.Set<BidRecord>().Where(b => b.Status == BidStatus.Open && b.Cycle <= cycle).OrderBy(b => b.Id).ToListAsync(ct);
        foreach (var bid in bids)
        {
            bid.MoveTo(BidStatus.Frozen);
            bid.Cycle = cycle;
        }
        return bids;
    }

    /// <summary>
    /// Records a clearing's outcome: each frozen bid among <paramref name="winners"/> is won at its payment, every other one
    /// lost. All bids are checked before any changes, so a bid that is not frozen refuses the whole settlement.
    /// Returns the won bids with their allocations, in <paramref name="frozen"/>'s order.
    /// </summary>
    public IReadOnlyList<(BidRecord Bid, Allocation Won)> Settle(IReadOnlyList<BidRecord> frozen, IReadOnlyList<Allocation> winners)
    {
        var byBid = winners.ToDictionary(w => w.BidId);
        foreach (var bid in frozen)
            BidLifecycle.Require(bid.Id, bid.Status, byBid.ContainsKey(bid.Id) ? BidStatus.Won : BidStatus.Lost);
        var won = new List<(BidRecord, Allocation)>();
        foreach (var bid in frozen)
        {
            if (byBid.TryGetValue(bid.Id, out var allocation))
            {
                bid.MoveTo(BidStatus.Won, allocation.Payment);
                won.Add((bid, allocation));
            }
            else
            {
                bid.MoveTo(BidStatus.Lost);
            }
        }
        return won;
    }

    /// <summary>
    /// Returns the frozen bids of <paramref name="cycle"/> to the book, for a cycle whose settlement never committed: their
    /// escrow is still pending, so they simply clear in a later cycle. Returns how many were reopened.
    /// </summary>
    public async Task<int> ReopenFrozenAsync(long cycle, CancellationToken ct)
    {
        var frozen = await db.Set<BidRecord>().Where(b => b.Cycle == cycle && b.Status == BidStatus.Frozen).ToListAsync(ct);
        foreach (var bid in frozen) bid.MoveTo(BidStatus.Open);
        return frozen.Count;
    }

    /// <summary>True when <paramref name="agentId"/> has a bid waiting for a clearing (open), so it needs no re-entry bid.</summary>
    public Task<bool> HasOpenBidAsync(string agentId, CancellationToken ct) =>
        db.Set<BidRecord>().AnyAsync(b => b.AgentId == agentId && b.Status == BidStatus.Open, ct);
}
