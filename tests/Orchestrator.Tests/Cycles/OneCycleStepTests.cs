using System.Globalization;
using System.Text.Json;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Scenarios;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Cycles;

/// <summary>
/// The live cycle, the simulator and <c>clear</c> run one cycle step (CycleClearing.Run): the same bids give the same
/// winners, payments, losers and market state in all three.
/// </summary>
public sealed class OneCycleStepTests
{
    [Theory]
    [InlineData("critical-value")]
    [InlineData("first-price")]
    [InlineData("posted-price")]
    public async Task Live_cycle_simulator_and_clear_agree_on_the_same_bids(string mechanismName)
    {
        // The simulator's cycle 1 of the market scenario supplies the bids, the supply and the prices.
        var variant = ScenarioCatalog.Find("market")!.Plan(60)[0];
        var run = await SimulationRunner.SimulationRun.OpenAsync(variant, cycles: 1, seed: 11, CancellationToken.None);
        await run.CycleAsync(ClearingMechanisms.Create(mechanismName), 1, CancellationToken.None);
        var simInput = run.LastInput!;
        var simulated = run.LastStep!;
        var bids = simInput.Bids.ToArray();
        bids.Length.ShouldBeGreaterThan(10);
        simulated.Result.Winners.Count.ShouldBeGreaterThan(0);
        simulated.Result.Losers.Count.ShouldBeGreaterThan(0, "a contested cycle, so the three could disagree");

        // Live: the same bids placed in a real database, cleared by AllocationCycle at the same prices.
        var prices = simInput.Prices;
        var pricing = variant.Settings.Pricing with
        {
            InitialCpu = prices[ResourceKind.Cpu], InitialMemory = prices[ResourceKind.Memory],
            InitialTokens = prices[ResourceKind.Tokens], InitialAttention = prices[ResourceKind.Attention],
        };
        await using var world = new CycleWorld(new LiveOptions { Mechanism = mechanismName, Pricing = pricing, ExecutionWindow = TimeSpan.FromSeconds(5) },
            run.Supply);
        foreach (var agentId in bids.Select(b => b.AgentId).Distinct())
            await world.AddAgentAsync(agentId, bids.Where(b => b.AgentId == agentId).Sum(b => b.Amount));
        foreach (var bid in bids)
            await world.BidAsync(bid.AgentId, 1, bid.Bundle, bid.Amount, bid.Id);
        var live = await world.Cycle.RunAsync(1, CancellationToken.None);
        var liveMarket = await world.QueryAsync(db => db.Set<MarketStateRecord>().Where(s => s.Cycle == 1).ToListAsync());

        // clear: the same bids as a bid file.
        var file = Path.Combine(Path.GetTempPath(), $"cyagents-step-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(bids.Select(b => new
        {
            id = b.Id, agent = b.AgentId, amount = b.Amount,
            bundle = new { cpu = b.Bundle.CpuMillicores, memory = b.Bundle.MemoryMiB, tokens = b.Bundle.Tokens, attention = b.Bundle.AttentionBasisPoints },
        })));
        string Kinds(Func<ResourceKind, string> value) => string.Join(",", ResourceKinds.All.Select(k => $"{k.WireName()}={value(k)}"));
        var (clearInput, cleared) = ClearCommand.Step(new ClearCommand.ClearRequest(file, mechanismName,
            Kinds(k => run.Supply[k].ToString(CultureInfo.InvariantCulture)), Kinds(k => prices[k].ToString("R", CultureInfo.InvariantCulture)),
            simInput.Seed.ToString(CultureInfo.InvariantCulture)));
        File.Delete(file);

        static IEnumerable<Allocation> ById(IEnumerable<Allocation> winners) => winners.OrderBy(w => w.BidId, StringComparer.Ordinal);
        ById(live.Winners).ShouldBe(ById(simulated.Result.Winners));
        ById(cleared.Result.Winners).ShouldBe(ById(simulated.Result.Winners));
        cleared.Result.Losers.Order(StringComparer.Ordinal).ShouldBe(simulated.Result.Losers.Order(StringComparer.Ordinal));
        live.Winners.Sum(w => w.Payment).ShouldBe(simulated.Result.Revenue);

        liveMarket.ToMarketState().Kinds.ShouldBe(simulated.Market.Kinds);
        // clear has no pricing rule (it is one clearing, not a market over time): everything but the next price agrees.
        cleared.Market.Kinds.Select(k => k with { NextPrice = 0 }).ShouldBe(simulated.Market.Kinds.Select(k => k with { NextPrice = 0 }));
        clearInput.Prices.ShouldBe(prices);
    }
}
