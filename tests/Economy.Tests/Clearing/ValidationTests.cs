using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using static CyAgents.Economy.Tests.Clearing.ClearingInstances;

namespace CyAgents.Economy.Tests.Clearing;

public sealed class ValidationTests
{
    private static readonly ResourceBundle Supply = ResourceBundle.Create(1000, 1000, 0, 100);

    [Theory]
    [InlineData(0, "bid 'x': amount must be a positive number of credits (got 0)")]
    [InlineData(-5, "bid 'x': amount must be a positive number of credits (got -5)")]
    [InlineData(ClearingValidation.MaxAmount + 1, "bid 'x': amount 1000000000001 exceeds the largest allowed bid of 1000000000000 credits")]
    public void A_bid_without_a_sensible_amount_is_refused(long amount, string expected) =>
        ClearingValidation.Check(Bid("x", amount, cpu: 1), Supply).ShouldBe(expected);

    [Fact]
    public void An_empty_bundle_is_refused() =>
        ClearingValidation.Check(Bid("x", 5), Supply).ShouldBe("bid 'x': bundle is empty (ask for at least one unit of some resource)");

    [Fact]
    public void A_bundle_larger_than_the_supply_names_the_kind_and_both_quantities()
    {
        ClearingValidation.Check(Bid("x", 5, memory: 1001), Supply)
            .ShouldBe("bid 'x': memory 1001 MiB exceeds the supply of 1000 MiB");
        // A kind with no supply at all can never be granted either.
        ClearingValidation.Check(Bid("y", 5, tokens: 1), Supply)
            .ShouldBe("bid 'y': tokens 1 tokens exceeds the supply of 0 tokens");
    }

    [Fact]
    public void A_bid_that_fits_passes() =>
        ClearingValidation.Check(Bid("x", 5, cpu: 1000, attention: 100), Supply).ShouldBeNull();

    [Fact]
    public void Duplicates_are_found_whether_the_ids_come_sorted_or_not()
    {
        // The check compares neighbours while ids rise and switches to a set where the order breaks (ADR 0150): on 500
        // seeded lists of few distinct ids, some invalid, it refuses exactly what a set of every acceptable id refuses.
        var random = new Random(5);
        for (var n = 0; n < 500; n++)
        {
            var bids = new List<Bid>();
            var sorted = random.Next(2) == 0;
            for (var i = 0; i < random.Next(1, 12); i++)
            {
                var id = sorted ? $"{i + random.Next(2):D2}" : ((char)('a' + random.Next(6))).ToString();
                bids.Add(Bid(id, random.Next(5) == 0 ? 0 : 5, cpu: 1));
            }
            var input = new ClearingInput(bids, Supply, MarketPrices.Zero);

            var (valid, rejected) = ClearingValidation.SplitValid(input);

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var expected = new List<(Bid, string)>();
            foreach (var bid in bids)
            {
                if (ClearingValidation.Check(bid, Supply) is { } problem)
                    expected.Add((bid, problem));
                else if (!seen.Add(bid.Id))
                    expected.Add((bid, $"duplicate bid id '{bid.Id}' (ids must be unique within a clearing)"));
            }
            rejected.ShouldBe(expected, $"case {n}: {string.Join(",", bids.Select(b => b.Id + "/" + b.Amount))}");
            valid.Bids.Count.ShouldBe(bids.Count - expected.Count);
        }
    }

    [Fact]
    public void Duplicate_ids_are_refused_by_every_mechanism_with_the_id_named()
    {
        var input = new ClearingInput([Bid("dup", 5, cpu: 1), Bid("dup", 6, cpu: 2)], Supply, MarketPrices.Zero);
        foreach (var mechanism in All)
        {
            var error = Should.Throw<ClearingInputException>(() => mechanism.Clear(input));
            error.Message.ShouldBe("duplicate bid id 'dup' (ids must be unique within a clearing)");
        }
    }

    [Fact]
    public void Every_mechanism_refuses_invalid_input_and_counts_the_further_problems()
    {
        var input = new ClearingInput([Bid("a", 0, cpu: 1), Bid("b", 5), Bid("c", 5, cpu: 5000)], Supply, MarketPrices.Zero);
        foreach (var mechanism in All)
        {
            Should.Throw<ClearingInputException>(() => mechanism.Clear(input)).Message
                .ShouldBe("bid 'a': amount must be a positive number of credits (got 0) (and 2 more problems)");
        }
        ClearingValidation.Validate(input).Count.ShouldBe(3);
    }

    [Fact]
    public void Split_valid_keeps_the_good_bids_and_says_why_the_others_were_refused()
    {
        var input = new ClearingInput([Bid("a", 5, cpu: 1), Bid("b", 5), Bid("a", 7, cpu: 1), Bid("c", 3, cpu: 9999)], Supply, MarketPrices.Zero);
        var (valid, rejected) = ClearingValidation.SplitValid(input);
        valid.Bids.Select(b => b.Id).ShouldBe(["a"]);
        rejected.Select(r => r.Bid.Id).ShouldBe(["b", "a", "c"]);
        new FirstPriceMechanism().Clear(valid).Winners.Count.ShouldBe(1);
    }

    [Fact]
    public void Split_valid_and_validate_apply_the_same_checks_to_the_whole_input()
    {
        // Problems of the input itself belong to no bid: SplitValid refuses the input as Validate does, not silently.
        var noPrices = new ClearingInput([Bid("a", 5, cpu: 1)], Supply, null!);
        ClearingValidation.Validate(noPrices).ShouldBe(["prices are missing (null)"]);
        Should.Throw<ClearingInputException>(() => ClearingValidation.SplitValid(noPrices)).Message.ShouldBe("prices are missing (null)");

        var huge = ResourceBundle.Create(ClearingValidation.MaxQuantity + 1, 1000, 0, 100);
        var overCap = new ClearingInput([Bid("a", 5, cpu: 1)], huge, MarketPrices.Zero);
        ClearingValidation.Validate(overCap).Count.ShouldBe(1);
        Should.Throw<ClearingInputException>(() => ClearingValidation.SplitValid(overCap)).Message
            .ShouldBe(ClearingValidation.Validate(overCap)[0]);
    }

    [Fact]
    public void Split_valid_rejects_exactly_the_bids_validate_names_with_the_same_reasons()
    {
        var input = new ClearingInput([Bid("a", 5, cpu: 1), Bid("b", 5), null!, Bid("a", 7, cpu: 1), Bid("c", 3, cpu: 9999), Bid("d", 2, cpu: 3)],
            Supply, MarketPrices.Zero);
        var (valid, rejected) = ClearingValidation.SplitValid(input);
        rejected.Select(r => r.Reason).ShouldBe(ClearingValidation.Validate(input).Where(p => p != "a bid is missing (null)"));
        valid.Bids.Select(b => b.Id).ShouldBe(["a", "d"]);
        ClearingValidation.Validate(valid).ShouldBeEmpty();
    }

    [Fact]
    public void Split_valid_leaves_a_valid_input_as_it_is()
    {
        var input = new ClearingInput([Bid("a", 5, cpu: 1), Bid("b", 6, memory: 3)], Supply, MarketPrices.Zero);
        var (valid, rejected) = ClearingValidation.SplitValid(input);
        rejected.ShouldBeEmpty();
        valid.ShouldBe(input with { Bids = valid.Bids });
        valid.Bids.ShouldBe(input.Bids);
    }

    [Fact]
    public void Optimal_refuses_instances_beyond_its_size_limit_with_a_clear_error()
    {
        var bids = Enumerable.Range(0, OptimalMechanism.MaxBids + 1).Select(i => Bid($"b{i}", 1, cpu: 1)).ToArray();
        Should.Throw<ClearingInputException>(() => new OptimalMechanism().Clear(Input(bids, cpu: 100)))
            .Message.ShouldBe("optimal clears at most 40 bids exactly (got 41); use it on small instances only");
    }

    [Fact]
    public void The_registry_knows_the_nine_mechanisms_and_names_them_when_asked_for_another()
    {
        ClearingMechanisms.Names.ShouldBe(["first-price", "critical-value", "posted-price", "lottery", "optimal", "vcg", "drf", "proportional", "uniform-price"]);
        foreach (var name in ClearingMechanisms.Names)
            ClearingMechanisms.Create(name).Name.ShouldBe(name);
        Should.Throw<ArgumentException>(() => ClearingMechanisms.Create("vickrey")).Message
            .ShouldStartWith("unknown mechanism 'vickrey'; known mechanisms: first-price, critical-value, posted-price, lottery, optimal, vcg, drf, proportional, uniform-price");
    }
}
