using CyAgents.Economy.Clearing;
using CyAgents.Economy.Clearing.Reference;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>
/// Ids and agents are packed into sort keys as the bids are laid out (ADR 0145), at the prefix all strings seen so far
/// share; when a later string shortens that prefix, the earlier ones are packed again, and past a budget packing waits
/// for the end. Every greedy mechanism's result does not depend on the order bids arrive in, so an input whose prefix
/// shrinks at every bid (each path above) must clear exactly as its reverse, whose prefix is settled by the first bid.
/// </summary>
public sealed class PackedPrefixTests
{
    private static readonly IClearingMechanism[] Greedy =
        [new FirstPriceMechanism(), new PostedPriceMechanism(), new CriticalValueMechanism(), new LotteryMechanism(), new UniformPriceMechanism()];

    [Theory]
    [InlineData(3)] // a few shrinks: packed again within the budget
    [InlineData(60)] // a shrink at every bid: past the budget, packed at the end
    public void A_shrinking_shared_prefix_clears_as_its_reverse(int count)
    {
        var bids = Staircase(count, id => id, agent => agent);
        foreach (var mechanism in Greedy)
            ShouldBeSame(mechanism.Clear(Input(bids)), mechanism.Clear(Input(bids.AsEnumerable().Reverse().ToList())));
        // Bundles are equal, so first-price takes the largest amounts, one per agent (two bids per agent here).
        new FirstPriceMechanism().Clear(Input(bids)).Winners.Select(w => w.Amount)
            .ShouldBe(bids.GroupBy(b => b.AgentId).Select(g => g.Max(b => b.Amount)).OrderDescending().Take(10));
    }

    [Fact]
    public void A_non_ascii_char_that_leaves_the_packed_window_when_the_prefix_shrinks_is_harmless()
    {
        // The first two ids share 12 chars, so the window starts at "aü"/"bü"; the third cuts the prefix to 2 chars
        // and the window no longer reaches the ü.
        var ids = new[] { new string('k', 12) + "aü", new string('k', 12) + "bü", "kk" + new string('z', 14), "kkz" };
        var bids = ids.Select((id, i) => new Bid(id, "agent-" + i, ResourceBundle.Create(1), 10 + i)).ToList();
        foreach (var mechanism in Greedy)
            ShouldBeSame(mechanism.Clear(Input(bids)), mechanism.Clear(Input(bids.AsEnumerable().Reverse().ToList())));
        new FirstPriceMechanism().Clear(Input(bids)).Winners.Select(w => w.BidId).ShouldBe([ids[3], ids[2], ids[1], ids[0]]);
    }

    [Fact]
    public void A_duplicate_id_is_refused_when_packing_waited_for_the_end()
    {
        var bids = Staircase(60, id => id, agent => agent);
        bids.Add(bids[0] with { AgentId = "another" });
        foreach (var mechanism in Greedy)
            Should.Throw<ClearingInputException>(() => mechanism.Clear(Input(bids))).Message.ShouldContain("duplicate bid id");
    }

    /// <summary>Bid i's id and agent share count - i leading chars with the first's, so each bid shortens the shared prefix.</summary>
    private static List<Bid> Staircase(int count, Func<string, string> id, Func<string, string> agent) =>
        Enumerable.Range(0, count).Select(i => new Bid(
            id(new string('p', count - i) + "q" + i),
            agent(new string('g', count - i / 2) + "h" + i / 2),
            ResourceBundle.Create(1), 1 + (i * 37) % 101)).ToList();

    private static ClearingInput Input(List<Bid> bids) =>
        new(bids, ResourceBundle.Create(10), new MarketPrices(20, 0, 0, 0), Seed: 42);

    private static void ShouldBeSame(ClearingResult actual, ClearingResult expected)
    {
        actual.Winners.ShouldBe(expected.Winners);
        actual.Losers.ShouldBe(expected.Losers);
        actual.Allocated.ShouldBe(expected.Allocated);
    }
}
