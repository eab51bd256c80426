using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// Thrown when a clearing cannot run on its input: an invalid bid, a duplicate id, a bundle larger than the
/// supply, or an instance too large for the mechanism. Nothing was computed; the message says what is wrong.
/// </summary>
public sealed class ClearingInputException(string message) : ArgumentException(message);

/// <summary>
/// The one place bids and clearing inputs are checked. Mechanisms call <see cref="EnsureValid"/>; the System API
/// calls <see cref="Check"/> when a bid is placed, so a bid that could never be granted is refused up front.
/// </summary>
public static class ClearingValidation
{
    /// <summary>
    /// Largest amount a bid may offer. Keeps sums over 100,000+ bids (welfare, lottery weights) far from
    /// <see cref="long"/> overflow.
    /// </summary>
    public const long MaxAmount = 1_000_000_000_000;

    /// <summary>Largest quantity of one kind in a supply (and so in any bundle), for the same reason.</summary>
    public const long MaxQuantity = 1_000_000_000_000;

    /// <summary>
    /// The first problem with one bid against a supply, or null when the bid is acceptable:
    /// empty id or agent, amount not in 1..<see cref="MaxAmount"/>, empty bundle, or a bundle larger than the
    /// supply in some kind (such a bid can never be granted, whatever it offers).
    /// </summary>
    public static string? Check(Bid? bid, ResourceBundle supply)
    {
        if (bid is null)
            return "a bid is missing (null)";
        if (string.IsNullOrWhiteSpace(bid.Id))
            return "a bid has an empty id";
        // Messages are only formatted once something is wrong: this runs for every bid of every clearing.
        if (string.IsNullOrWhiteSpace(bid.AgentId))
            return $"bid '{bid.Id}': agent must not be empty";
        if (bid.Amount <= 0)
            return $"bid '{bid.Id}': amount must be a positive number of credits (got {bid.Amount})";
        if (bid.Amount > MaxAmount)
            return $"bid '{bid.Id}': amount {bid.Amount} exceeds the largest allowed bid of {MaxAmount} credits";
        if (bid.Bundle.IsEmpty)
            return $"bid '{bid.Id}': bundle is empty (ask for at least one unit of some resource)";
        if (bid.Bundle.FitsWithin(supply))
            return null;
        foreach (var kind in ResourceKinds.All)
        {
            if (bid.Bundle[kind] > supply[kind])
                return $"bid '{bid.Id}': {kind.WireName()} {bid.Bundle[kind]} {kind.Unit()} exceeds the supply of {supply[kind]} {kind.Unit()}";
        }
        return null;
    }

    /// <summary>Every problem with a clearing input (each bid, duplicate ids, supply), in input order; empty when valid.</summary>
    public static IReadOnlyList<string> Validate(ClearingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var errors = new List<string>();
        if (input.Bids is null)
            return ["bids are missing (null)"];
        if (input.Prices is null)
            errors.Add("prices are missing (null)");
        foreach (var kind in ResourceKinds.All)
        {
            if (input.Supply[kind] > MaxQuantity)
                errors.Add($"supply of {kind.WireName()} {input.Supply[kind]} exceeds the largest allowed quantity {MaxQuantity}");
        }
        var seen = new HashSet<string>(input.Bids.Count, StringComparer.Ordinal);
        foreach (var bid in input.Bids)
        {
            if (Check(bid, input.Supply) is { } problem)
                errors.Add(problem);
            else if (!seen.Add(bid!.Id))
                errors.Add($"duplicate bid id '{bid.Id}' (ids must be unique within a clearing)");
        }
        return errors;
    }

    /// <summary>Throws <see cref="ClearingInputException"/> naming the first problem (and how many more there are).</summary>
    public static void EnsureValid(ClearingInput input)
    {
        var errors = Validate(input);
        if (errors.Count == 0)
            return;
        var more = errors.Count > 1 ? $" (and {errors.Count - 1} more problem{(errors.Count > 2 ? "s" : "")})" : "";
        throw new ClearingInputException(errors[0] + more);
    }

    /// <summary>
    /// Splits an input into the part that can be cleared and the bids refused with their reason, for callers
    /// (live cycles) that would rather clear the good bids than fail the cycle. Of duplicate ids the first is kept.
    /// </summary>
    public static (ClearingInput Valid, IReadOnlyList<(Bid Bid, string Reason)> Rejected) SplitValid(ClearingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var valid = new List<Bid>(input.Bids.Count);
        var rejected = new List<(Bid, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var bid in input.Bids)
        {
            if (Check(bid, input.Supply) is { } problem)
            {
                if (bid is not null)
                    rejected.Add((bid, problem));
            }
            else if (!seen.Add(bid!.Id))
                rejected.Add((bid, $"duplicate bid id '{bid.Id}'"));
            else
                valid.Add(bid);
        }
        return (input with { Bids = valid }, rejected);
    }
}
