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
    public static IReadOnlyList<string> Validate(ClearingInput input) => Problems(input).Select(p => p.Problem).ToList();

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
    /// It applies exactly the checks of <see cref="Validate"/>: a problem of the input itself (bids or prices missing,
    /// a supply above <see cref="MaxQuantity"/>) belongs to no bid, so it throws <see cref="ClearingInputException"/>;
    /// a null entry in the bid list is left out.
    /// </summary>
    /// <exception cref="ClearingInputException">The input itself is invalid.</exception>
    public static (ClearingInput Valid, IReadOnlyList<(Bid Bid, string Reason)> Rejected) SplitValid(ClearingInput input)
    {
        var rejected = new List<(Bid, string)>();
        var leftOut = new HashSet<Bid?>(ReferenceEqualityComparer.Instance);
        foreach (var (bid, ofInput, problem) in Problems(input))
        {
            if (ofInput)
                throw new ClearingInputException(problem);
            leftOut.Add(bid);
            if (bid is not null)
                rejected.Add((bid, problem));
        }
        // Every cycle of a run usually has nothing to refuse: then the input is the valid part, without a copy.
        if (leftOut.Count == 0)
            return (input, rejected);
        var valid = new List<Bid>(input.Bids.Count);
        foreach (var bid in input.Bids)
        {
            if (!leftOut.Contains(bid))
                valid.Add(bid);
        }
        return (input with { Bids = valid }, rejected);
    }

    /// <summary>
    /// The one list of checks behind <see cref="Validate"/> and <see cref="SplitValid"/>, in input order. A problem of
    /// the input itself has <c>OfInput</c> set; a null bid entry comes with a null bid.
    /// </summary>
    private static IEnumerable<(Bid? Bid, bool OfInput, string Problem)> Problems(ClearingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Bids is null)
        {
            yield return (null, true, "bids are missing (null)");
            yield break;
        }
        if (input.Prices is null)
            yield return (null, true, "prices are missing (null)");
        foreach (var kind in ResourceKinds.All)
        {
            if (input.Supply[kind] > MaxQuantity)
                yield return (null, true, $"supply of {kind.WireName()} {input.Supply[kind]} exceeds the largest allowed quantity {MaxQuantity}");
        }
        // While the ids come in strictly increasing ordinal order (a simulator's do), none can repeat one before it, and
        // comparing neighbours is all the check needs; the set of ids seen is built only once the order breaks, from the
        // acceptable bids before that point.
        HashSet<string>? seen = null;
        string? last = null;
        var bids = input.Bids;
        for (var at = 0; at < bids.Count; at++)
        {
            var bid = bids[at];
            if (Check(bid, input.Supply) is { } problem)
            {
                yield return (bid, false, problem);
                continue;
            }
            var id = bid!.Id;
            if (seen is null)
            {
                if (last is null || string.CompareOrdinal(last, id) < 0)
                {
                    last = id;
                    continue;
                }
                seen = new HashSet<string>(StringComparer.Ordinal);
                for (var before = 0; before < at; before++)
                {
                    if (Check(bids[before], input.Supply) is null)
                        seen.Add(bids[before].Id);
                }
            }
            if (!seen.Add(id))
                yield return (bid, false, $"duplicate bid id '{id}' (ids must be unique within a clearing)");
        }
    }
}
