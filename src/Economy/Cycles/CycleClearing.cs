using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;

namespace CyAgents.Economy.Cycles;

/// <summary>Everything one cycle's clearing step looks at.</summary>
/// <param name="Cycle">The cycle number, recorded on the market state and on every settlement operation.</param>
/// <param name="Bids">The frozen bids, in the order they are handed to the mechanism.</param>
/// <param name="Supply">Capacity on offer this cycle.</param>
/// <param name="Prices">Prices in force during the cycle.</param>
/// <param name="Mechanism">The clearing mechanism.</param>
/// <param name="Pricing">The pricing rule that sets the next prices; null keeps the prices as they are (a fixed-price market).</param>
/// <param name="Seed">Seed for mechanisms that draw at random.</param>
/// <param name="EscrowIdOf">Escrow transfer id of a bid; <see cref="BidTransferIds.Escrow"/> when null.</param>
/// <param name="Reserve">Reserve prices (see <see cref="ClearingInput.Reserve"/>); null: none.</param>
/// <param name="OneWinPerAgent">One agent's bids are alternatives (see <see cref="ClearingInput.OneWinPerAgent"/>).</param>
public sealed record CycleClearingInput(
    long Cycle,
    IReadOnlyList<Bid> Bids,
    ResourceBundle Supply,
    MarketPrices Prices,
    IClearingMechanism Mechanism,
    PricingOptions? Pricing,
    ulong Seed,
    Func<string, string>? EscrowIdOf = null,
    MarketPrices? Reserve = null,
    bool OneWinPerAgent = true);

/// <summary>A bid that could not be cleared (invalid, or a duplicate id) and so loses, with the reason.</summary>
/// <param name="Bid">The bid.</param>
/// <param name="Reason">Why it could not be cleared.</param>
public sealed record RejectedBid(Bid Bid, string Reason);

/// <summary>What one cycle's clearing step decided.</summary>
/// <param name="Result">The clearing; rejected bids are among its losers.</param>
/// <param name="Rejected">Bids refused before clearing, with their reasons.</param>
/// <param name="Market">The market after the cycle: demand of every bid, the allocation and the next prices.</param>
/// <param name="Cycle">The cycle, recorded on every settlement operation.</param>
/// <param name="EscrowIdOf">Escrow transfer id of a bid; <see cref="BidTransferIds.Escrow"/> when null.</param>
public sealed record CycleClearingOutcome(
    ClearingResult Result,
    IReadOnlyList<RejectedBid> Rejected,
    MarketState Market,
    long Cycle,
    Func<string, string>? EscrowIdOf = null)
{
    /// <summary>
    /// Builds the ledger operations of one linked batch that settle the clearing (<see cref="ClearingSettlement.Operations"/>).
    /// Built on request, not with the outcome: the simulator settles its escrows by handle and never asks (ADR 0150).
    /// </summary>
    public IReadOnlyList<LedgerOperation> SettlementOperations() => ClearingSettlement.Operations(Result, Cycle, EscrowIdOf);
}

/// <summary>
/// The one cycle step, shared by live cycles, the simulator and the <c>clear</c> command: split off the bids that
/// cannot be cleared, clear the rest, add the rejected ones to the losers, close the market state (demand over all
/// bids, including rejected ones, since they asked) and build the settlement batch. Pure: no I/O, no clock.
/// </summary>
public static class CycleClearing
{
    /// <summary>Runs the step.</summary>
    /// <exception cref="ClearingInputException">The mechanism cannot clear the instance (e.g. too large for it).</exception>
    public static CycleClearingOutcome Run(CycleClearingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(input.Mechanism);
        var clearing = new ClearingInput(input.Bids, input.Supply, input.Prices, input.Seed, input.Reserve, input.OneWinPerAgent);
        var (valid, refused) = ClearingValidation.SplitValid(clearing);
        var rejected = refused.Count == 0 ? [] : refused.Select(r => new RejectedBid(r.Bid, r.Reason)).ToArray();

        var result = input.Mechanism.Clear(rejected.Length == 0 ? clearing : valid);
        if (rejected.Length > 0)
            result = result with { Losers = [.. result.Losers, .. rejected.Select(r => r.Bid.Id)] };

        var demand = ResourceBundle.Zero;
        foreach (var bid in input.Bids)
            demand += bid.Bundle;
        var market = input.Pricing is { } pricing
            ? MarketState.Create(input.Cycle, input.Supply, demand, result.Allocated, input.Prices, pricing)
            : MarketState.WithFixedPrices(input.Cycle, input.Supply, demand, result.Allocated, input.Prices);

        return new CycleClearingOutcome(result, rejected, market, input.Cycle, input.EscrowIdOf);
    }
}
