using CyAgents.Economy.Clearing;
using CyAgents.Economy.Clearing.Reference;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using Xunit.Abstractions;
using static CyAgents.Economy.Tests.Clearing.ClearingInstances;

namespace CyAgents.Economy.Tests.Clearing.Reference;

/// <summary>Known answers for the reference mechanisms, each instance worked out by hand in its comment.</summary>
public sealed class ReferenceMechanismTests(ITestOutputHelper output)
{
    private static string[] Winners(ClearingResult r) => r.Winners.Select(w => w.BidId).ToArray();
    private static long[] Payments(ClearingResult r) => r.Winners.Select(w => w.Payment).ToArray();

    [Fact]
    public void Vcg_charges_clarke_pivot_payments_below_the_bids_first_price_would_charge()
    {
        // Supply cpu 10. A (6 cpu, 60), B (5 cpu, 40), C (5 cpu, 35). A fits with neither B nor C (6 + 5 > 10).
        // Optimum: {B, C} = 75 > {A} = 60, so W* = 75.
        // B pays W(-B) - (W* - 40) = max(A 60, C 35) - 35 = 25;  C pays W(-C) - (75 - 35) = 60 - 40 = 20.
        // First-price on the same bids takes A first (density 60/0.6 = 100 > 80 > 70) and charges 60.
        var input = Input([Bid("A", 60, cpu: 6), Bid("B", 40, cpu: 5), Bid("C", 35, cpu: 5)], cpu: 10);
        var r = new VcgMechanism().Clear(input);
        Winners(r).Order().ShouldBe(["B", "C"]);
        r.Winners.Single(w => w.BidId == "B").Payment.ShouldBe(25);
        r.Winners.Single(w => w.BidId == "C").Payment.ShouldBe(20);
        r.Losers.ShouldBe(["A"]);
        (r.Welfare, r.Revenue, r.Mechanism).ShouldBe((75L, 45L, "vcg"));
        Payments(new FirstPriceMechanism().Clear(input)).ShouldBe([60L]);
    }

    [Fact]
    public void Vcg_charges_nothing_when_no_one_else_is_displaced()
    {
        // Supply cpu 10: A (4 cpu, 30) and B (5 cpu, 20) both fit. W(-A) = 20 = W* - 30, so A pays 0; likewise B.
        var r = new VcgMechanism().Clear(Input([Bid("A", 30, cpu: 4), Bid("B", 20, cpu: 5)], cpu: 10));
        Winners(r).Order().ShouldBe(["A", "B"]);
        Payments(r).ShouldAllBe(p => p == 0);
    }

    [Fact]
    public void Vcg_treats_an_agent_as_one_participant_and_spreads_its_pivot_over_its_bids_in_id_order()
    {
        // Supply cpu 10. Agent X: x1 (5 cpu, 30), x2 (5 cpu, 30); agent Y: y (10 cpu, 50).
        // W* = x1 + x2 = 60. Without X (both its bids) the optimum is y = 50, so X's pivot is 50 - (60 - 60) = 50:
        // x1 pays 30 (its whole amount), x2 the remaining 20.
        var r = new VcgMechanism().Clear(Input(
            [Bid("x1", 30, cpu: 5, agent: "X"), Bid("x2", 30, cpu: 5, agent: "X"), Bid("y", 50, cpu: 10, agent: "Y")], cpu: 10));
        r.Winners.OrderBy(w => w.BidId).Select(w => (w.BidId, w.Payment)).ShouldBe([("x1", 30L), ("x2", 20L)]);
        r.Losers.ShouldBe(["y"]);
    }

    [Fact]
    public void Vcg_refuses_instances_beyond_the_exact_solvers_limit_with_a_clear_error()
    {
        var bids = Enumerable.Range(0, VcgMechanism.MaxBids + 1).Select(i => Bid($"b{i}", 1, cpu: 1)).ToArray();
        Should.Throw<ClearingInputException>(() => new VcgMechanism().Clear(Input(bids, cpu: 100))).Message
            .ShouldBe("vcg clears at most 40 bids (it solves the exact optimum once per winner; got 41); use it on small instances only");
    }

    [Fact]
    public void Under_vcg_no_bidder_gains_by_misreporting_on_seeded_small_instances()
    {
        // The misreport search of TruthfulnessTests: each bidder's value is its bid; it may report 0.5x to 2x instead.
        double[] factors = [0.5, 0.7, 0.9, 0.95, 1.05, 1.1, 1.5, 2.0];
        var random = new SplitMix64(424242);
        var mechanism = new VcgMechanism();
        int gains = 0, checkedReports = 0;
        for (var round = 0; round < 200; round++)
        {
            var input = Random(random, (int)random.NextInRange(3, 10));
            var truthful = mechanism.Clear(input);
            for (var i = 0; i < input.Bids.Count; i++)
            {
                var bid = input.Bids[i];
                var honest = Utility(truthful, bid.Id, bid.Amount);
                foreach (var factor in factors.Append(0.5 + 1.5 * random.NextDouble()))
                {
                    var report = Math.Max(1, (long)Math.Round(bid.Amount * factor));
                    if (report == bid.Amount)
                        continue;
                    var bids = input.Bids.ToArray();
                    bids[i] = bid with { Amount = report };
                    checkedReports++;
                    if (Utility(mechanism.Clear(input with { Bids = bids }), bid.Id, bid.Amount) > honest)
                        gains++;
                }
            }
        }
        output.WriteLine($"vcg: {checkedReports} misreports checked, {gains} gained");
        checkedReports.ShouldBeGreaterThan(5_000);
        gains.ShouldBe(0);
    }

    private static long Utility(ClearingResult result, string bidId, long value) =>
        result.Winners.FirstOrDefault(w => w.BidId == bidId) is { } win ? value - win.Payment : 0;

    [Fact]
    public void Drf_gives_the_papers_known_answer_a_three_tasks_and_b_two()
    {
        // Ghodsi et al.: 9 CPUs and 18 GB; A needs <1 CPU, 4 GB> per task, B <3 CPU, 1 GB>. Dominant shares:
        // A's is memory (4/18 = 2/9 per task), B's is CPU (3/9 = 1/3 per task). Progressive filling, smallest share first
        // (ties to the smaller id): A 0 -> a1 (A 2/9); B 0 -> b1 (B 1/3); A 2/9 -> a2 (4/9); B 1/3 -> b2 (2/3);
        // A 4/9 -> a3 (6/9 = 2/3); tie 2/3: A -> a4 needs 1 CPU, 9 - 3 - 6 = 0 left: A is finished; B -> b3 needs 3: finished.
        // A: 3 tasks (3 CPU, 12 GB), B: 2 tasks (6 CPU, 2 GB). Prices are zero, so every task pays 0.
        var bids = Enumerable.Range(1, 5).Select(t => Bid($"a{t}", 10, cpu: 1000, memory: 4096, agent: "A"))
            .Concat(Enumerable.Range(1, 5).Select(t => Bid($"b{t}", 10, cpu: 3000, memory: 1024, agent: "B"))).ToArray();
        var r = new DrfMechanism().Clear(Input(bids, cpu: 9000, memory: 18 * 1024));
        Winners(r).ShouldBe(["a1", "b1", "a2", "b2", "a3"]);
        r.Losers.Order(StringComparer.Ordinal).ShouldBe(["a4", "a5", "b3", "b4", "b5"]);
        r.Allocated.ShouldBe(ResourceBundle.Create(9000, 14 * 1024));
        Payments(r).ShouldAllBe(p => p == 0);
    }

    [Fact]
    public void Drf_admits_a_task_only_when_its_bid_covers_the_posted_cost_and_charges_that_cost()
    {
        // Price 0.01 credits per millicore: a 1000-millicore task costs 10. X bids 15 (eligible, pays 10);
        // Y bids 5 (below the cost: loses, although capacity for it is left).
        var prices = new MarketPrices(0.01, 0, 0, 0);
        var r = new DrfMechanism().Clear(Input([Bid("x", 15, cpu: 1000, agent: "X"), Bid("y", 5, cpu: 1000, agent: "Y")],
            cpu: 2000, prices: prices));
        r.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("x", 10L)]);
        r.Losers.ShouldBe(["y"]);
    }

    [Fact]
    public void Proportional_splits_each_kind_in_proportion_to_bids_and_scales_each_bundle_by_its_smallest_share()
    {
        // Supply cpu 1000, memory 1000. A (cpu 600; 30), B (cpu 600, mem 200; 10), C (mem 200; 20).
        // Bids per kind: B_cpu = 30 + 10 = 40, B_mem = 10 + 20 = 30; prices p_cpu = 40/1000, p_mem = 30/1000.
        // A: f = min(1, 30·1000 / (40·600) = 1.25) = 1 -> cpu 600; pays ceil(p_cpu·600) = ceil(24) = 24.
        // B: f = min(10·1000/(40·600) = 0.41667, 10·1000/(30·200) = 1.667) = 0.41667 -> cpu floor(250) = 250,
        //    mem floor(83.3) = 83; its cost ceil(max(24, 6)) = 24 is above its bid: pays its bid 10.
        // C: f = min(1, 20·1000/(30·200) = 3.33) = 1 -> mem 200; pays ceil(p_mem·200) = 6.
        var r = new ProportionalShareMechanism().Clear(Input(
            [Bid("A", 30, cpu: 600), Bid("B", 10, cpu: 600, memory: 200), Bid("C", 20, memory: 200)], cpu: 1000, memory: 1000));
        r.Winners.Select(w => (w.BidId, w.Bundle, w.Payment)).ShouldBe([
            ("A", ResourceBundle.Create(600, 0), 24L),
            ("B", ResourceBundle.Create(250, 83), 10L),
            ("C", ResourceBundle.Create(0, 200), 6L)]);
        r.Allocated.ShouldBe(ResourceBundle.Create(850, 283));
        r.Losers.ShouldBeEmpty();
    }

    [Fact]
    public void Proportional_refuses_grants_below_the_minimum_a_sandbox_needs()
    {
        // Supply cpu 1000. A (cpu 1000; 999) gets 999/1000 of its bundle: 999 millicores. B (cpu 1000; 1) gets 1 millicore:
        // a winner with the default minimum of one unit, a loser when a grant must be at least 50 millicores
        // (A keeps its 999: capacity a loser leaves is not handed on).
        Bid[] bids = [Bid("A", 999, cpu: 1000), Bid("B", 1, cpu: 1000)];
        var any = new ProportionalShareMechanism().Clear(Input(bids, cpu: 1000));
        any.Winners.Select(w => (w.BidId, w.Bundle.CpuMillicores, w.Payment)).ShouldBe([("A", 999L, 999L), ("B", 1L, 1L)]);
        var sandbox = new ProportionalShareMechanism(ResourceBundle.Create(50, 16)).Clear(Input(bids, cpu: 1000));
        sandbox.Winners.Select(w => (w.BidId, w.Bundle.CpuMillicores)).ShouldBe([("A", 999L)]);
        sandbox.Losers.ShouldBe(["B"]);
    }

    [Fact]
    public void Uniform_price_with_unit_demand_is_the_k_plus_first_price_auction()
    {
        // Supply 3 units (3000 millicores), each bid for one unit (size 1/3): A 50, B 40, C 30, D 20.
        // A, B, C fit; D is the first that does not: price per unit of size 20 / (1/3) = 60, so each winner pays 60 · 1/3 = 20.
        var r = new UniformPriceMechanism().Clear(Input(
            [Bid("A", 50, cpu: 1000), Bid("B", 40, cpu: 1000), Bid("C", 30, cpu: 1000), Bid("D", 20, cpu: 1000)], cpu: 3000));
        Winners(r).ShouldBe(["A", "B", "C"]);
        Payments(r).ShouldBe([20L, 20L, 20L]);
        r.Losers.ShouldBe(["D"]);
    }

    [Fact]
    public void Uniform_price_stops_at_the_first_bid_that_does_not_fit_and_prices_every_winner_at_its_density()
    {
        // Supply cpu 1000. A (500; 100, density 200), B (300; 45, 150), C (400; 40, 100), D (100; 5, 50).
        // A fits (500 left), B fits (200 left), C does not: C is the highest rejected bid, price 40 / 0.4 = 100 per unit of
        // size; D loses too although it would fit (the auction stops). A pays 100 · 0.5 = 50, B pays 100 · 0.3 = 30.
        var r = new UniformPriceMechanism().Clear(Input(
            [Bid("A", 100, cpu: 500), Bid("B", 45, cpu: 300), Bid("C", 40, cpu: 400), Bid("D", 5, cpu: 100)], cpu: 1000));
        Winners(r).ShouldBe(["A", "B"]);
        Payments(r).ShouldBe([50L, 30L]);
        r.Losers.ShouldBe(["C", "D"]);
    }

    [Fact]
    public void Uniform_price_charges_nothing_when_every_bid_fits()
    {
        var r = new UniformPriceMechanism().Clear(Input([Bid("A", 10, cpu: 1), Bid("B", 20, cpu: 1)], cpu: 10));
        Payments(r).ShouldBe([0L, 0L]);
    }
}
