using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// Everything a clearing may look at. Mechanisms are pure functions of this value:
/// the same input (including <see cref="Seed"/>) gives the same result.
/// </summary>
/// <param name="Bids">The frozen bids of the cycle.</param>
/// <param name="Supply">Capacity of the cycle per resource; no allocation may exceed it.</param>
/// <param name="Prices">Posted prices (used by posted-price; others may ignore them).</param>
/// <param name="Seed">Seed for mechanisms that draw at random (lottery).</param>
/// <param name="Reserve">
/// Reserve prices per unit (first-price and critical-value): a bid offering less than its bundle's reserve cost
/// (<see cref="MarketPrices.CostOf"/>, rounded up) loses, and a critical-value winner pays at least that cost.
/// Null: no reserve. Pass <paramref name="Prices"/> to use the posted prices as reserves.
/// </param>
/// <param name="OneWinPerAgent">
/// One agent's bids in a cycle are alternatives (XOR): at most one of them wins. On by default; the greedy
/// mechanisms honour it. Off only to study what the rule prevents (the shill-bid test).
/// </param>
public sealed record ClearingInput(IReadOnlyList<Bid> Bids, ResourceBundle Supply, MarketPrices Prices, ulong Seed = 0,
    MarketPrices? Reserve = null, bool OneWinPerAgent = true);

/// <summary>The outcome of one clearing.</summary>
/// <param name="Mechanism">Name of the mechanism that produced it.</param>
/// <param name="Winners">Winning bids with their bundles and payments, in the order they were accepted.</param>
/// <param name="Losers">Ids of the bids that won nothing; losers pay nothing.</param>
/// <param name="Allocated">Sum of the winners' bundles; fits within the supply.</param>
/// <param name="Supply">The supply cleared against.</param>
public sealed record ClearingResult(
    string Mechanism,
    IReadOnlyList<Allocation> Winners,
    IReadOnlyList<string> Losers,
    ResourceBundle Allocated,
    ResourceBundle Supply)
{
    /// <summary>Sum of the winners' bid amounts (their reported values).</summary>
    public long Welfare => Winners.Sum(w => w.Amount);

    /// <summary>Sum of the winners' payments.</summary>
    public long Revenue => Winners.Sum(w => w.Payment);

    /// <summary>Allocated over supply for one kind, in [0, 1]; 0 when that kind has no supply.</summary>
    public double Utilization(ResourceKind kind) =>
        Supply[kind] == 0 ? 0 : (double)Allocated[kind] / Supply[kind];
}

/// <summary>
/// A way of deciding which bids win and what they pay. Implementations are pure and deterministic:
/// no I/O, no clock, randomness only from <see cref="ClearingInput.Seed"/>, ties broken by bid id.
/// </summary>
public interface IClearingMechanism
{
    /// <summary>The name used on the command line and in reports (e.g. <c>critical-value</c>).</summary>
    string Name { get; }

    /// <summary>Clears the bids against the supply.</summary>
    ClearingResult Clear(ClearingInput input);
}
