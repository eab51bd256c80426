namespace CyAgents.Economy.Clearing.Reference;

/// <summary>
/// <c>vcg</c>: Vickrey–Clarke–Groves with Clarke pivot payments on the exact welfare optimum. The winners are those of
/// <see cref="OptimalMechanism"/>; each winning agent pays the welfare the others lose because it takes part,
/// <c>W(−a) − (W* − v_a)</c>, where <c>W*</c> is the optimum, <c>v_a</c> the agent's winning amounts and <c>W(−a)</c> the
/// optimum without any of the agent's bids. Truthful (reporting one's value is a dominant strategy) and efficient,
/// but it needs one exact solve plus one per winning agent, so it has the optimal mechanism's size limit.
/// </summary>
/// <remarks>
/// The payment lies in <c>[0, v_a]</c>: the optimum restricted to the others is feasible without <c>a</c>, so
/// <c>W(−a) ≥ W* − v_a</c>; and removing bids never raises the optimum, so <c>W(−a) ≤ W*</c>. All sums are whole
/// credits, so payments are exact. An agent with several winning bids pays its pivot spread over them in ordinal
/// bid-id order, each bid charged at most its amount. The payment does not depend on which optimum the solver picks
/// among equals except through <c>v_a</c>, and truthfulness holds for any tie-break.
/// Complexity: (w + 1) exact solves, each exponential in the worst case (see <see cref="OptimalMechanism"/>).
/// </remarks>
public sealed class VcgMechanism : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "vcg";

    /// <summary>Largest number of bids accepted: the exact solver's.</summary>
    public const int MaxBids = OptimalMechanism.MaxBids;

    private readonly OptimalMechanism _optimal = new();

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Bids is { Count: > MaxBids })
            throw new ClearingInputException(
                $"vcg clears at most {MaxBids} bids (it solves the exact optimum once per winner; got {input.Bids.Count}); use it on small instances only");
        var best = _optimal.Clear(input);
        var payments = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var agent in best.Winners.Select(w => w.AgentId).Distinct().Order(StringComparer.Ordinal))
        {
            var own = best.Winners.Where(w => w.AgentId == agent).OrderBy(w => w.BidId, StringComparer.Ordinal).ToList();
            var others = input.Bids.Where(b => b.AgentId != agent).ToList();
            var without = _optimal.Clear(input with { Bids = others }).Welfare;
            var pivot = without - (best.Welfare - own.Sum(w => w.Amount));
            foreach (var w in own)
            {
                var charge = Math.Min(w.Amount, pivot);
                payments[w.BidId] = charge;
                pivot -= charge;
            }
        }
        return best with { Mechanism = Name, Winners = best.Winners.Select(w => w with { Payment = payments[w.BidId] }).ToList() };
    }
}
