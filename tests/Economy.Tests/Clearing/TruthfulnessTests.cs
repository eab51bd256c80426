using Xunit.Abstractions;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>
/// Single-minded bidders misreporting their value, over 1,000 seeded random instances. Each bidder's true
/// value is its bid in the instance; it may instead report 0.5x to 2x of it (whole credits, at least 1).
/// Utility is value − payment when it wins, 0 when it loses.
/// </summary>
public sealed class TruthfulnessTests(ITestOutputHelper output)
{
    private static readonly double[] Factors = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 1.75, 2.0];

    /// <summary>The best gain any bidder finds over truthful reporting, and how many (bidder, report) pairs gained.</summary>
    private static (long BestGain, int Gains, int Checked) SearchForGains(IClearingMechanism mechanism, int instances)
    {
        var random = new SplitMix64(424242);
        long best = 0;
        int gains = 0, checkedReports = 0;
        for (var round = 0; round < instances; round++)
        {
            var input = ClearingInstances.Random(random, (int)random.NextInRange(3, 13));
            var truthful = mechanism.Clear(input);
            for (var i = 0; i < input.Bids.Count; i++)
            {
                var bid = input.Bids[i];
                var value = bid.Amount;
                var truthfulUtility = Utility(truthful, bid.Id, value);
                // A random factor too, so the reports are not only a fixed grid.
                foreach (var factor in Factors.Append(0.5 + 1.5 * random.NextDouble()))
                {
                    var report = Math.Max(1, (long)Math.Round(value * factor));
                    if (report == value)
                        continue;
                    var bids = input.Bids.ToArray();
                    bids[i] = bid with { Amount = report };
                    var lied = mechanism.Clear(input with { Bids = bids });
                    var gain = Utility(lied, bid.Id, value) - truthfulUtility;
                    checkedReports++;
                    if (gain > 0)
                    {
                        gains++;
                        best = Math.Max(best, gain);
                    }
                }
            }
        }
        return (best, gains, checkedReports);
    }

    private static long Utility(ClearingResult result, string bidId, long value) =>
        result.Winners.FirstOrDefault(w => w.BidId == bidId) is { } win ? value - win.Payment : 0;

    [Fact]
    public void Under_critical_value_no_bidder_gains_by_misreporting_over_1000_instances()
    {
        var (best, gains, checkedReports) = SearchForGains(new CriticalValueMechanism(), 1000);
        output.WriteLine($"critical-value: {checkedReports} misreports checked, {gains} gained, best gain {best}");
        checkedReports.ShouldBeGreaterThan(50_000);
        gains.ShouldBe(0);
    }

    /// <summary>
    /// Added bids: each bidder keeps its true bid (or a misreport of its amount) and adds one more bid under the same
    /// agent: a small bundle, a copy of its bundle, a superset of it, or another bidder's bundle, at a random amount.
    /// Its true value is its bid's amount for any won bundles that together cover its own (free disposal), 0
    /// otherwise; it pays for every bid that wins.
    /// </summary>
    private static (long BestGain, int Gains, int Checked) SearchForShillGains(IClearingMechanism mechanism, int instances, bool oneWinPerAgent)
    {
        var random = new SplitMix64(717171);
        long best = 0;
        int gains = 0, checkedReports = 0;
        for (var round = 0; round < instances; round++)
        {
            var input = ClearingInstances.Random(random, (int)random.NextInRange(3, 13)) with { OneWinPerAgent = oneWinPerAgent };
            var truthful = mechanism.Clear(input);
            var supply = input.Supply;
            for (var i = 0; i < input.Bids.Count; i++)
            {
                var bid = input.Bids[i];
                var value = bid.Amount;
                var truthfulUtility = AgentUtility(truthful, bid, value);
                for (var shape = 0; shape < 8; shape++)
                {
                    long Small(ResourceKind kind) => supply[kind] == 0 || random.NextBelow(2) == 0 ? 0 : random.NextInRange(1, supply[kind] / 20 + 2);
                    ResourceBundle added = (shape % 4) switch
                    {
                        0 => ResourceBundle.Create(Small(ResourceKind.Cpu), Small(ResourceKind.Memory), Small(ResourceKind.Tokens), Small(ResourceKind.Attention)),
                        1 => bid.Bundle,
                        2 => bid.Bundle + ResourceBundle.Create(Small(ResourceKind.Cpu), Small(ResourceKind.Memory), 0, 0),
                        _ => input.Bids[(int)random.NextBelow((ulong)input.Bids.Count)].Bundle,
                    };
                    if (added.IsEmpty)
                        added = ResourceBundle.Create(cpuMillicores: 1);
                    if (!added.FitsWithin(supply))
                        continue;
                    var bids = input.Bids.ToList();
                    // Half the time the agent also misreports its own bid.
                    if (shape >= 4)
                        bids[i] = bid with { Amount = Math.Max(1, (long)Math.Round(value * (0.5 + 1.5 * random.NextDouble()))) };
                    bids.Add(new Bid(bid.Id + "-shill", bid.AgentId, added, random.NextInRange(1, value + 1)));
                    var lied = mechanism.Clear(input with { Bids = bids });
                    var gain = AgentUtility(lied, bid, value) - truthfulUtility;
                    checkedReports++;
                    if (gain > 0)
                    {
                        gains++;
                        best = Math.Max(best, gain);
                    }
                }
            }
        }
        return (best, gains, checkedReports);
    }

    /// <summary>The agent's value if what it won covers its own bundle, minus everything it pays.</summary>
    private static long AgentUtility(ClearingResult result, Bid truth, long value)
    {
        var won = ResourceBundle.Zero;
        long paid = 0;
        foreach (var w in result.Winners.Where(w => w.AgentId == truth.AgentId))
        {
            won += w.Bundle;
            paid += w.Payment;
        }
        return (truth.Bundle.FitsWithin(won) && paid >= 0 && result.Winners.Any(w => w.AgentId == truth.AgentId) ? value : 0) - paid;
    }

    [Fact]
    public void Under_critical_value_no_agent_gains_by_adding_bids_over_1000_instances()
    {
        var (best, gains, checkedReports) = SearchForShillGains(new CriticalValueMechanism(), 1000, oneWinPerAgent: true);
        output.WriteLine($"critical-value, one win per agent: {checkedReports} added bids checked, {gains} gained, best gain {best}");
        checkedReports.ShouldBeGreaterThan(40_000);
        gains.ShouldBe(0);
    }

    [Fact]
    public void Without_one_win_per_agent_the_same_added_bid_check_finds_gains()
    {
        var (best, gains, checkedReports) = SearchForShillGains(new CriticalValueMechanism(), 1000, oneWinPerAgent: false);
        output.WriteLine($"critical-value, XOR off: {checkedReports} added bids checked, {gains} gained, best gain {best}");
        gains.ShouldBeGreaterThan(0);
        best.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Under_first_price_the_same_check_finds_gains_so_it_can_fail()
    {
        var (best, gains, checkedReports) = SearchForGains(new FirstPriceMechanism(), 1000);
        output.WriteLine($"first-price: {checkedReports} misreports checked, {gains} gained, best gain {best}");
        gains.ShouldBeGreaterThan(0);
        best.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Critical_value_winners_never_pay_more_than_their_bid_and_losers_pay_nothing()
    {
        var random = new SplitMix64(5);
        var mechanism = new CriticalValueMechanism();
        for (var round = 0; round < 1000; round++)
        {
            var input = ClearingInstances.Random(random, (int)random.NextInRange(1, 40));
            var r = mechanism.Clear(input);
            foreach (var w in r.Winners)
                w.Payment.ShouldBeInRange(0, w.Amount);
            r.Revenue.ShouldBe(r.Winners.Sum(w => w.Payment));
        }
    }

    [Fact]
    public void Critical_value_payment_is_the_threshold_it_wins_at_its_payment_and_loses_one_credit_below()
    {
        var random = new SplitMix64(11);
        var mechanism = new CriticalValueMechanism();
        var checkedWinners = 0;
        for (var round = 0; round < 300; round++)
        {
            var input = ClearingInstances.Random(random, (int)random.NextInRange(2, 15));
            foreach (var w in mechanism.Clear(input).Winners)
            {
                // A payment of 0 means it wins at any amount, so at the smallest bid of 1 credit too.
                var bids = input.Bids.Select(b => b.Id == w.BidId ? b with { Amount = Math.Max(1, w.Payment) } : b).ToArray();
                mechanism.Clear(input with { Bids = bids }).Winners.ShouldContain(x => x.BidId == w.BidId, "it still wins at its payment");
                if (w.Payment > 1)
                {
                    bids = input.Bids.Select(b => b.Id == w.BidId ? b with { Amount = w.Payment - 1 } : b).ToArray();
                    mechanism.Clear(input with { Bids = bids }).Winners.ShouldNotContain(x => x.BidId == w.BidId, "one credit less loses");
                }
                checkedWinners++;
            }
        }
        checkedWinners.ShouldBeGreaterThan(100);
    }

    [Fact]
    public void Critical_value_thresholds_hold_on_large_contested_markets_too()
    {
        // Hundreds of bids exercise the deficit tree's deeper levels; every winner is checked.
        var random = new SplitMix64(77);
        var mechanism = new CriticalValueMechanism();
        var checkedWinners = 0;
        for (var round = 0; round < 10; round++)
        {
            var input = ClearingInstances.Random(random, 400);
            foreach (var w in mechanism.Clear(input).Winners)
            {
                Bid[] WithAmount(long amount) => input.Bids.Select(b => b.Id == w.BidId ? b with { Amount = amount } : b).ToArray();
                mechanism.Clear(input with { Bids = WithAmount(Math.Max(1, w.Payment)) }).Winners.ShouldContain(x => x.BidId == w.BidId);
                if (w.Payment > 1)
                    mechanism.Clear(input with { Bids = WithAmount(w.Payment - 1) }).Winners.ShouldNotContain(x => x.BidId == w.BidId);
                checkedWinners++;
            }
        }
        output.WriteLine($"checked {checkedWinners} winners");
        checkedWinners.ShouldBeGreaterThan(100);
    }
}
