using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using static CyAgents.Economy.Tests.Clearing.ClearingInstances;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>
/// One 5-bid instance worked out by hand for every mechanism. Supply: cpu 1000, memory 1000.
/// <code>
/// bid  cpu  mem  amount  size=q/S   density=amt/size  LOS key=amt/sqrt(size)
///  A   500    0     50     0.5          100              70.71
///  B   500  500     75     1.0           75              75.00
///  C     0  500     30     0.5           60              42.43
///  D   250  250     40     0.5           80              56.57
///  E   500  500     60     1.0           60              60.00
/// </code>
/// </summary>
public sealed class HandComputedInstanceTests
{
    private static ClearingInput Instance(MarketPrices? prices = null, ulong seed = 0) => Input(
        [Bid("A", 50, cpu: 500), Bid("B", 75, cpu: 500, memory: 500), Bid("C", 30, memory: 500),
         Bid("D", 40, cpu: 250, memory: 250), Bid("E", 60, cpu: 500, memory: 500)],
        cpu: 1000, memory: 1000, prices: prices, seed: seed);

    private static string[] Winners(ClearingResult r) => r.Winners.Select(w => w.BidId).ToArray();
    private static long[] Payments(ClearingResult r) => r.Winners.Select(w => w.Payment).ToArray();

    [Fact]
    public void First_price_takes_the_densest_bids_that_fit_and_charges_the_bids()
    {
        // Density order A(100) D(80) B(75) C(60) E(60; tie with C, "C" < "E").
        // A fits -> left (500,1000); D fits -> (250,750); B needs cpu 500 > 250: loses;
        // C fits -> (250,250); E loses. Winners pay their bids: 50, 40, 30.
        var r = new FirstPriceMechanism().Clear(Instance());
        Winners(r).ShouldBe(["A", "D", "C"]);
        Payments(r).ShouldBe([50L, 40L, 30L]);
        r.Losers.ShouldBe(["B", "E"]);
        r.Welfare.ShouldBe(120);
        r.Revenue.ShouldBe(120);
        r.Allocated.CpuMillicores.ShouldBe(750);
        r.Allocated.MemoryMiB.ShouldBe(750);
    }

    [Fact]
    public void Critical_value_takes_the_los_order_and_charges_each_winner_its_critical_value()
    {
        // LOS order B(75) A(70.71) E(60) D(56.57) C(42.43).
        // B fits -> (500,500); A fits -> (0,500); E rejected, deficit (500,0); D rejected, deficit (250,0);
        // C fits -> (0,0). Winners B, A, C.
        // B: without B the run is A, E(fits, takes the rest of cpu), so B must rank above E: key >= 60.
        //    At 60 it ties E and wins on id ("B" < "E"); at 59 it loses -> pays 60.
        // A: without A the run is B, E (takes what is left), so A must rank above E:
        //    amount / sqrt(0.5) >= 60 <=> amount >= 42.43 -> pays 43 (42 / 0.7071 = 59.4 loses).
        // C: nothing after C could take its memory -> it wins at any amount -> pays 0.
        var r = new CriticalValueMechanism().Clear(Instance());
        Winners(r).ShouldBe(["B", "A", "C"]);
        Payments(r).ShouldBe([60L, 43L, 0L]);
        r.Losers.ShouldBe(["E", "D"]);
        r.Welfare.ShouldBe(155);
        r.Revenue.ShouldBe(103);
    }

    [Fact]
    public void Posted_price_serves_the_highest_surplus_first_and_charges_the_posted_cost()
    {
        // Prices cpu 0.08, memory 0.04 per unit. Costs: A 40, B 60, C 20, D 30, E 60.
        // Surplus: B 15, A 10, C 10, D 10, E 0 (all eligible). Equal surplus goes to the larger amount:
        // order B, A (50), D (40), C (30), E.
        // B fits -> (500,500) pays 60; A -> (0,500) pays 40; D needs cpu: loses; C -> (0,0) pays 20; E loses.
        var r = new PostedPriceMechanism().Clear(Instance(new MarketPrices(0.08, 0.04, 0, 0)));
        Winners(r).ShouldBe(["B", "A", "C"]);
        Payments(r).ShouldBe([60L, 40L, 20L]);
        r.Losers.ShouldBe(["D", "E"]);
        r.Revenue.ShouldBe(120);
        r.Welfare.ShouldBe(155);
    }

    [Fact]
    public void Posted_price_refuses_bids_below_the_posted_cost_even_with_capacity_left()
    {
        // Prices cpu 0.08, memory 0.08. Costs: A 40 (ok), B 80 > 75, C 40 > 30, D 40 (ok, surplus 0), E 80 > 60.
        // A pays 40 -> (500,1000); D pays 40 -> (250,750). The rest cannot afford the posted cost.
        var r = new PostedPriceMechanism().Clear(Instance(new MarketPrices(0.08, 0.08, 0, 0)));
        Winners(r).ShouldBe(["A", "D"]);
        Payments(r).ShouldBe([40L, 40L]);
        r.Losers.ShouldBe(["B", "C", "E"]);
    }

    [Fact]
    public void Lottery_with_seed_0_follows_the_independently_computed_draws()
    {
        // Slots in id order with weights A 50, B 75, C 30, D 40, E 60 (total 255).
        // SplitMix64(0) with Lemire's bounded draw (computed independently in Python) gives:
        // 225 of 255 -> E (195..254), fits -> (500,500); 84 of 195 (A,B,C,D) -> B (50..124), fits -> (0,0);
        // 3 of 120 (A,C,D) -> A, no cpu left; 67 of 70 (C,D) -> D; 3 of 30 -> C. Nothing else fits.
        var r = new LotteryMechanism().Clear(Instance(seed: 0));
        Winners(r).ShouldBe(["E", "B"]);
        Payments(r).ShouldBe([60L, 75L]);
        r.Losers.ShouldBe(["A", "D", "C"]);
    }

    [Fact]
    public void Optimal_finds_the_welfare_maximum_that_first_price_misses()
    {
        // Feasible sets: {A,B,C} 155 uses (1000,1000); {A,E,C} 140; {B,E} 135; {A,D,C} 120; {D,E} 100 ...
        // No set beats 155. Winners are listed in density order (A, B, C) and pay their bids.
        var r = new OptimalMechanism().Clear(Instance());
        Winners(r).ShouldBe(["A", "B", "C"]);
        Payments(r).ShouldBe([50L, 75L, 30L]);
        r.Losers.ShouldBe(["D", "E"]);
        r.Welfare.ShouldBe(155);
    }
}
