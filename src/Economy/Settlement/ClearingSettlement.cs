using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Settlement;

/// <summary>
/// Turns a clearing result into the ledger operations of one linked batch, so a cycle's money moves all or
/// nothing. Pure: it builds the operations, the caller applies them with <see cref="ILedger.ApplyBatchAsync"/>.
/// </summary>
public static class ClearingSettlement
{
    /// <summary>
    /// The operations that settle <paramref name="result"/>, ordered by ordinal bid id, each bid's operations
    /// together: a winner's escrow is posted at its payment (the rest returns to the agent) and a
    /// <see cref="TransferKind.ClearingCharge"/> moves the payment from escrow to the treasury (none when the
    /// payment is 0); a loser's escrow is voided.
    /// </summary>
    /// <param name="result">The clearing to settle.</param>
    /// <param name="cycle">The cycle, recorded on every operation.</param>
    /// <param name="escrowIdOf">Escrow transfer id of a bid; <see cref="BidTransferIds.Escrow"/> when null.</param>
    public static IReadOnlyList<LedgerOperation> Operations(ClearingResult result, long? cycle = null, Func<string, string>? escrowIdOf = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        escrowIdOf ??= BidTransferIds.Escrow;
        var entries = new List<(string BidId, Allocation? Winner)>(result.Winners.Count + result.Losers.Count);
        entries.AddRange(result.Winners.Select(w => (w.BidId, (Allocation?)w)));
        entries.AddRange(result.Losers.Select(id => (id, (Allocation?)null)));
        entries.Sort((a, b) => string.CompareOrdinal(a.BidId, b.BidId));

        var operations = new List<LedgerOperation>(entries.Count * 2);
        // One string for every loser: a simulated cycle settles thousands of them.
        var lostMemo = $"{result.Mechanism}: lost, escrow returned";
        foreach (var (bidId, winner) in entries)
        {
            var escrowId = escrowIdOf(bidId);
            if (winner is null)
            {
                operations.Add(new PendingResolution(BidTransferIds.Settle(bidId), escrowId, Void: true, Cycle: cycle, Memo: lostMemo));
                continue;
            }
            CheckPayment(winner);
            operations.Add(new PendingResolution(BidTransferIds.Settle(bidId), escrowId, Void: false, Amount: winner.Payment,
                Cycle: cycle, Memo: $"{result.Mechanism}: won, pays {winner.Payment} of {winner.Amount}"));
            if (winner.Payment > 0)
                operations.Add(new TransferRequest(BidTransferIds.Charge(bidId), AccountIds.Escrow, AccountIds.Treasury,
                    winner.Payment, TransferKind.ClearingCharge, cycle, $"{result.Mechanism}: payment for bid {bidId}"));
        }
        return operations;
    }

    /// <summary>
    /// The winner's payment, checked: it must lie in 0 .. the bid's amount, or the clearing result is corrupt. Every
    /// settlement of a winner (this batch, or a simulation's holds) goes through here.
    /// </summary>
    /// <exception cref="ArgumentException">The payment is outside 0 .. the amount.</exception>
    public static long CheckPayment(Allocation winner)
    {
        ArgumentNullException.ThrowIfNull(winner);
        if (winner.Payment < 0 || winner.Payment > winner.Amount)
            throw new ArgumentException(
                $"bid '{winner.BidId}': payment {winner.Payment} is outside 0..{winner.Amount}; the clearing result is corrupt", nameof(winner));
        return winner.Payment;
    }
}
