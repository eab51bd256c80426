using System.Diagnostics;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Market;
using CyAgents.Economy.Metrics;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Scenarios;
using CyAgents.Orchestrator.Simulation.Strategies;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;

namespace CyAgents.Orchestrator.Simulation.Running;

/// <summary>
/// Runs one population under one mechanism for a number of cycles, with the same Economy code as live cycles:
/// every credit moves through an <see cref="InMemoryLedger"/> (escrow as pending transfers, settlement as one
/// linked batch), clearing through the registered mechanism, prices through the market's pricing rule. After
/// every cycle the ledger's conservation check runs; a failure stops the run.
/// </summary>
public sealed class SimulationRunner
{
    /// <summary>A run of this many lost bids in a row counts as starving.</summary>
    public const int StarvationThreshold = 10;

    /// <summary>The human's whole attention for one cycle.</summary>
    public const long AttentionSupply = 10_000;

    /// <summary>
    /// Runs with agents x cycles^2 at or below this keep the full transfer log, so each cycle's check also replays
    /// it. The replay costs O(log) per check, O(agents x cycles^2) over a run; larger runs check balances only.
    /// </summary>
    public const double HistoryLimit = 1e7;

    /// <summary>
    /// Large runs keep no log, and only a small window of recent ids: every id a run makes is unique, and a
    /// 65,536-entry id dictionary rotated every few cycles lands on the large-object heap and costs full GCs.
    /// </summary>
    private static readonly InMemoryLedgerOptions LargeRunLedger = new() { RetainHistory = false, RecentIdWindow = 2048 };

    /// <summary>Log-scale spread of an agent's value from cycle to cycle around its base value.</summary>
    public const double ValueNoiseSigma = 0.25;

    public async Task<RunResult> RunAsync(string scenario, SimulationVariant variant, string mechanismName, int cycles, int seed,
        Action<int>? onCycle = null, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cycles, 1);
        var stopwatch = Stopwatch.StartNew();
        var settings = variant.Settings;
        var mechanism = ClearingMechanisms.Create(mechanismName);
        var optimal = ClearingMechanisms.Create(OptimalMechanism.MechanismName);
        var agents = new List<SyntheticAgent>(settings.Populate(variant.Agents, seed));
        var byId = agents.ToDictionary(a => a.Id, a => a.Index, StringComparer.Ordinal);

        var ledger = new InMemoryLedger((double)variant.Agents * cycles * cycles <= HistoryLimit
            ? InMemoryLedgerOptions.Default
            : LargeRunLedger);
        await ledger.OpenAccountAsync(AccountIds.Treasury, AccountKind.Treasury, ct);
        await ledger.OpenAccountAsync(AccountIds.Escrow, AccountKind.Escrow, ct);
        var endowments = new List<LedgerOperation>(agents.Count);
        foreach (var agent in agents)
        {
            await ledger.OpenAccountAsync(agent.AccountId, AccountKind.Agent, ct);
            if (agent.Endowment > 0)
                endowments.Add(new TransferRequest("endow:" + agent.Id, AccountIds.Treasury, agent.AccountId, agent.Endowment,
                    TransferKind.Endowment, 0, "initial endowment"));
        }
        await ApplyIndependentAsync(ledger, endowments, ct);

        var supply = settings.FixedSupply ?? SupplyFor(agents, settings.SupplyRatio);
        var prices = settings.InitialPrices ?? CalibratedPrices(agents, supply, settings.Pricing, ValueNoiseSigma);
        var rng = new MersenneTwister(SeedStreams.Derive(seed, "cycles"), threadSafe: false);

        var rows = new List<CycleMetrics>(cycles);
        var available = new long[agents.Count];
        var arrivals = new int[agents.Count];
        var noise = new double[agents.Count];
        var uniform = new double[agents.Count];
        var bids = new List<Bid>();
        var bidders = new List<int>();
        var operations = new List<LedgerOperation>();

        var balancesStale = true;
        for (var cycle = 1; cycle <= cycles; cycle++)
        {
            ct.ThrowIfCancellationRequested();
            operations.Clear();

            // 1. Spawning: spawners split into families (SpawnTransfer to each child, SpawnFee to the treasury).
            if (settings.Spawn is { } plan && plan.Cycle == cycle)
            {
                await SpawnAsync(ledger, agents, byId, plan, cycle, ct);
                balancesStale = true;
            }
            if (available.Length < agents.Count)
            {
                Array.Resize(ref available, agents.Count);
                Array.Resize(ref arrivals, agents.Count);
                Array.Resize(ref noise, agents.Count);
                Array.Resize(ref uniform, agents.Count);
            }

            // 2. Income from the treasury, so the economy does not drain into it through clearing charges.
            if (settings.IncomeEnabled)
            {
                var cycleText = Num(cycle);
                foreach (var agent in agents)
                {
                    if (agent.Income > 0)
                        operations.Add(new TransferRequest(string.Concat("c", cycleText, ":income:", agent.Id), AccountIds.Treasury,
                            agent.AccountId, agent.Income, TransferKind.Endowment, cycle, "income"));
                }
                await ApplyIndependentAsync(ledger, operations, ct);
                operations.Clear();
            }
            // What each agent can spend: read from the ledger at the start and after spawning, otherwise carried
            // from last cycle's closing read plus the income just paid (the closing read checks it a cycle later).
            if (balancesStale)
            {
                for (var i = 0; i < agents.Count; i++)
                    available[i] = (await ledger.GetBalanceAsync(agents[i].AccountId, ct)).Available;
                balancesStale = false;
            }
            else if (settings.IncomeEnabled)
            {
                for (var i = 0; i < agents.Count; i++)
                    available[i] += agents[i].Income;
            }

            // 3. Random draws, all taken before anything depends on wealth, so every mechanism sees the same ones.
            var demandMultiplier = settings.DemandMultiplier(cycle, cycles);
            for (var i = 0; i < agents.Count; i++)
            {
                var agent = agents[i];
                if (agent.IsChild)
                {
                    // A child is a slice of its parent: it has a task when the parent does.
                    arrivals[i] = arrivals[agent.FamilyRoot];
                    noise[i] = noise[agent.FamilyRoot];
                    var u = uniform[agent.FamilyRoot] + 0.6180339887498949 * (i - agent.FamilyRoot);
                    uniform[i] = u - Math.Floor(u);
                    continue;
                }
                if (agent.FixedTask)
                {
                    arrivals[i] = 1;
                    noise[i] = 1;
                    uniform[i] = 0.5;
                    continue;
                }
                var rate = agent.ArrivalRate * demandMultiplier;
                arrivals[i] = rate > 0 ? Poisson.Sample(rng, rate) : 0;
                noise[i] = LogNormal.Sample(rng, 0, ValueNoiseSigma);
                uniform[i] = rng.NextDouble();
            }
            var gifts = settings.GiftsPerAgent > 0 ? MakeGifts(settings, agents, available, rng, cycle, operations) : 0;
            if (operations.Count > 0)
            {
                await ApplyIndependentAsync(ledger, operations, ct);
                operations.Clear();
            }

            // 4. Bids: an agent with a task bids when its value covers the posted cost and its strategy says so.
            bids.Clear();
            bidders.Clear();
            if (settings.MarketOpen)
            {
                var cycleText = Num(cycle);
                for (var i = 0; i < agents.Count; i++)
                {
                    var agent = agents[i];
                    agent.ValueThisCycle = 0;
                    agent.BidThisCycle = 0;
                    var k = arrivals[i];
                    if (k <= 0 || available[i] <= 0 || agent.Demand.IsEmpty)
                        continue;
                    var bundle = k == 1 ? agent.Demand : agent.Demand.Scale(k);
                    if (!bundle.FitsWithin(supply))
                        continue;
                    var value = Math.Max(1, (long)Math.Round(agent.BaseValue * noise[i] * k));
                    var cost = prices.CostOf(bundle);
                    if (value < cost)
                        continue;
                    var amount = Math.Min(available[i], agent.Strategy.Bid(agent, new BidContext(value, available[i], cost, uniform[i])));
                    if (amount < 1)
                        continue;
                    agent.ValueThisCycle = value;
                    agent.BidThisCycle = amount;
                    var bid = new Bid(string.Concat(cycleText, ":", agent.Id), agent.Id, bundle, amount);
                    bids.Add(bid);
                    bidders.Add(i);
                    operations.Add(new TransferRequest(BidTransferIds.Escrow(bid.Id), agent.AccountId, AccountIds.Escrow, amount,
                        TransferKind.BidEscrow, cycle, null, Pending: true));
                }
                await ApplyIndependentAsync(ledger, operations, ct);
                operations.Clear();
            }

            // 5. Clear and settle in one linked batch.
            var result = mechanism.Clear(new ClearingInput(bids, supply, prices, SeedStreams.Derive(seed, "clearing", cycle)));
            await ApplyAsync(ledger, ClearingSettlement.Operations(result, cycle), ct);

            long welfare = 0;
            foreach (var winner in result.Winners)
            {
                var agent = agents[byId[winner.AgentId]];
                agent.Wins++;
                agent.LastWinCycle = cycle;
                agent.LosingStreak = 0;
                agent.PaidThisCycle = winner.Payment;
                agent.Utility += agent.ValueThisCycle - winner.Payment;
                agent.ValueWon += agent.ValueThisCycle;
                agent.Paid += winner.Payment;
                agent.ResourcesWon += NormalizedSize(winner.Bundle, supply);
                welfare += agent.ValueThisCycle;
            }
            foreach (var i in bidders)
            {
                var agent = agents[i];
                var won = agent.LastWinCycle == cycle;
                if (!won)
                {
                    agent.Losses++;
                    agent.LosingStreak++;
                    agent.LongestLosingStreak = Math.Max(agent.LongestLosingStreak, agent.LosingStreak);
                    agent.PaidThisCycle = 0;
                }
                agent.Strategy.Observe(agent, won, agent.PaidThisCycle);
            }

            double? efficiency = null;
            if (bids.Count > 0 && bids.Count <= settings.OptimalBidLimit)
            {
                var truthful = new List<Bid>(bids.Count);
                for (var b = 0; b < bids.Count; b++)
                    truthful.Add(bids[b] with { Amount = agents[bidders[b]].ValueThisCycle });
                var best = optimal.Clear(new ClearingInput(truthful, supply, prices)).Welfare;
                efficiency = EconomyMetrics.Efficiency(welfare, best);
            }

            // 6. The pricing rule moves prices with this cycle's excess demand.
            var demanded = ResourceBundle.Zero;
            foreach (var bid in bids)
                demanded += bid.Bundle;
            var postedPrices = prices;
            if (settings.PricingEnabled)
                prices = TatonnementPricing.Next(prices, supply, demanded, settings.Pricing);

            // 7. Metrics and the conservation check.
            var wealth = new long[agents.Count];
            var bankrupt = 0;
            var starving = 0;
            for (var i = 0; i < agents.Count; i++)
            {
                var balance = await ledger.GetBalanceAsync(agents[i].AccountId, ct);
                wealth[i] = balance.Posted;
                available[i] = balance.Available;
                if (balance.Available <= 0)
                    bankrupt++;
                if (agents[i].LosingStreak >= StarvationThreshold)
                    starving++;
            }
            var report = await ledger.CheckConservationAsync(ct);
            rows.Add(new CycleMetrics
            {
                Cycle = cycle,
                Agents = agents.Count,
                ActiveAgents = bids.Count,
                Winners = result.Winners.Count,
                Prices = PerKind(k => postedPrices[k]),
                Utilization = PerKind(result.Utilization),
                DemandRatio = PerKind(k => supply[k] == 0 ? 0 : (double)demanded[k] / supply[k]),
                Welfare = welfare,
                Efficiency = efficiency,
                Revenue = result.Revenue,
                WealthGini = EconomyMetrics.Gini(wealth),
                Jain = EconomyMetrics.JainIndex(agents.Select(a => a.ResourcesWon)),
                Starving = starving,
                Bankrupt = bankrupt,
                Gifts = gifts,
                TreasuryIssued = report.TreasuryIssued,
                Conserved = report.Holds,
            });
            if (!report.Holds)
                throw new SimulationInvariantException(
                    $"the ledger's conservation check failed after cycle {cycle} of {variant.Name}/{mechanismName}: {report}");
            onCycle?.Invoke(cycle);
        }

        var finalWealth = new long[agents.Count];
        for (var i = 0; i < agents.Count; i++)
            finalWealth[i] = (await ledger.GetBalanceAsync(agents[i].AccountId, ct)).Posted;
        stopwatch.Stop();
        long agentCycles = 0;
        foreach (var row in rows)
            agentCycles += row.Agents;
        return new RunResult(scenario, variant.Name, mechanism.Name, seed, supply, rows, agents, finalWealth,
            new RunTiming(stopwatch.Elapsed, agentCycles));
    }

    /// <summary>Applies one linked batch: all of it or nothing (settlement).</summary>
    private static async ValueTask ApplyAsync(ILedger ledger, IReadOnlyList<LedgerOperation> operations, CancellationToken ct)
    {
        if (operations.Count > 0)
            await ledger.ApplyBatchAsync(operations, ct);
    }

    /// <summary>
    /// Applies operations that do not depend on each other (one agent's income, one bid's escrow) in batches of
    /// <see cref="IndependentBatch"/>: each could be its own transfer, and small batches keep the ledger's undo
    /// journal off the large-object heap, where 10,000-operation batches cost a full GC every cycle or two.
    /// </summary>
    private static async ValueTask ApplyIndependentAsync(ILedger ledger, List<LedgerOperation> operations, CancellationToken ct)
    {
        if (operations.Count <= IndependentBatch)
        {
            await ApplyAsync(ledger, operations, ct);
            return;
        }
        for (var from = 0; from < operations.Count; from += IndependentBatch)
            await ledger.ApplyBatchAsync(operations.GetRange(from, Math.Min(IndependentBatch, operations.Count - from)), ct);
    }

    private const int IndependentBatch = 512;

    /// <summary>Rounds of the offline pricing rule in <see cref="CalibratedPrices"/>; enough to settle within a few percent.</summary>
    private const int CalibrationRounds = 120;

    /// <summary>
    /// Random pairwise gifts of a fixed amount, made only when the payer can afford them: the Dragulescu-Yakovenko
    /// exchange whose stationary wealth distribution is exponential (Gini 1/2).
    /// </summary>
    private static int MakeGifts(ScenarioSettings settings, List<SyntheticAgent> agents, long[] available, System.Random rng, int cycle,
        List<LedgerOperation> operations)
    {
        var n = agents.Count;
        var count = (int)Math.Round(settings.GiftsPerAgent * n);
        var moved = 0;
        for (var g = 0; g < count; g++)
        {
            var payer = rng.Next(n);
            var payee = rng.Next(n);
            if (payer == payee || available[payer] < settings.GiftAmount)
                continue;
            available[payer] -= settings.GiftAmount;
            available[payee] += settings.GiftAmount;
            operations.Add(new TransferRequest(string.Concat("c", Num(cycle), ":gift:", Num(g)), agents[payer].AccountId,
                agents[payee].AccountId, settings.GiftAmount, TransferKind.Gift, cycle, null));
            moved++;
        }
        return moved;
    }

    /// <summary>
    /// Every spawner splits into a family of Children + 1 identities with equal slices of its credits, demand and
    /// value. Children are funded by SpawnTransfer; each spawn costs the parent a SpawnFee to the treasury.
    /// Income stays with the family root's identity count: the treasury pays the family what it paid the parent.
    /// </summary>
    private static async Task SpawnAsync(InMemoryLedger ledger, List<SyntheticAgent> agents, Dictionary<string, int> byId,
        SpawnPlan plan, int cycle, CancellationToken ct)
    {
        var parents = agents.Where(a => !a.IsChild && a.Strategy == BiddingStrategy.Spawner).ToList();
        var operations = new List<LedgerOperation>();
        foreach (var parent in parents)
        {
            var family = plan.Children + 1;
            var balance = (await ledger.GetBalanceAsync(parent.AccountId, ct)).Available;
            var fees = plan.Fee * plan.Children;
            if (balance < fees + family)
                continue;
            var share = (balance - fees) / family;
            var slice = SliceOf(parent.Demand, family);
            var income = parent.Income / family;
            for (var c = 1; c <= plan.Children; c++)
            {
                var child = new SyntheticAgent(agents.Count, $"{parent.Id}.c{c}", parent.Name + " #" + c, parent.Group,
                    BiddingStrategy.Truthful, slice, parent.BaseValue / family, parent.ArrivalRate, 0, income)
                {
                    FamilyRoot = parent.Index,
                    Shade = parent.Shade,
                };
                agents.Add(child);
                byId[child.Id] = child.Index;
                await ledger.OpenAccountAsync(child.AccountId, AccountKind.Agent, ct);
                if (plan.Fee > 0)
                    operations.Add(new TransferRequest("spawnfee:" + child.Id, parent.AccountId, AccountIds.Treasury, plan.Fee,
                        TransferKind.SpawnFee, cycle, "spawn fee"));
                operations.Add(new TransferRequest("spawn:" + child.Id, parent.AccountId, child.AccountId, share,
                    TransferKind.SpawnTransfer, cycle, "child endowment"));
            }
            parent.Demand = slice;
            parent.BaseValue /= family;
            parent.Income -= income * plan.Children;
        }
        await ApplyAsync(ledger, operations, ct);
    }

    private static ResourceBundle SliceOf(ResourceBundle bundle, int parts) => ResourceBundle.Create(
        CeilDiv(bundle.CpuMillicores, parts), CeilDiv(bundle.MemoryMiB, parts), CeilDiv(bundle.Tokens, parts),
        CeilDiv(bundle.AttentionBasisPoints, parts));

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>Supply per kind: a fraction of the expected demand at zero prices (attention: one human, 10,000 bp).</summary>
    public static ResourceBundle SupplyFor(IReadOnlyList<SyntheticAgent> agents, double ratio)
    {
        var expected = new double[ResourceKinds.Count];
        foreach (var agent in agents)
        {
            foreach (var kind in ResourceKinds.All)
                expected[(int)kind] += agent.ArrivalRate * agent.Demand[kind];
        }
        long Of(ResourceKind kind) => Math.Max(1, (long)Math.Ceiling(ratio * expected[(int)kind]));
        // The largest single request must fit, or that agent could never be served at all.
        long Largest(ResourceKind kind) => agents.Count == 0 ? 1 : agents.Max(a => a.Demand[kind]);
        return ResourceBundle.Create(
            Math.Max(Of(ResourceKind.Cpu), Largest(ResourceKind.Cpu)),
            Math.Max(Of(ResourceKind.Memory), Largest(ResourceKind.Memory)),
            Math.Max(Of(ResourceKind.Tokens), Largest(ResourceKind.Tokens)),
            AttentionSupply);
    }

    /// <summary>
    /// Starting prices near the market's equilibrium, so runs do not spend their first hundred cycles finding it:
    /// the pricing rule is iterated offline on the expected demand (an agent with arrival rate r asks for r bundles
    /// per cycle, of which the share whose lognormal value covers the cost actually bids). Starts from prices that
    /// give every demanded kind an equal share of the value of all tasks.
    /// </summary>
    public static MarketPrices CalibratedPrices(IReadOnlyList<SyntheticAgent> agents, ResourceBundle supply, PricingOptions pricing,
        double valueNoiseSigma)
    {
        double value = 0;
        var demanded = new bool[ResourceKinds.Count];
        foreach (var agent in agents)
        {
            value += agent.ArrivalRate * agent.BaseValue;
            foreach (var kind in ResourceKinds.All)
                demanded[(int)kind] |= agent.Demand[kind] > 0;
        }
        var kinds = ResourceKinds.All.Where(k => demanded[(int)k] && supply[k] > 0).ToArray();
        if (kinds.Length == 0 || value <= 0)
            return MarketPrices.Zero;
        var price = new double[ResourceKinds.Count];
        foreach (var kind in kinds)
            price[(int)kind] = value / kinds.Length / supply[kind];

        var demand = new double[ResourceKinds.Count];
        for (var iteration = 0; iteration < CalibrationRounds; iteration++)
        {
            Array.Clear(demand);
            foreach (var agent in agents)
            {
                if (agent.BaseValue <= 0)
                    continue;
                double cost = 0;
                foreach (var kind in kinds)
                    cost += price[(int)kind] * agent.Demand[kind];
                var bids = cost <= 0 ? 1.0 : 1 - Normal.CDF(0, valueNoiseSigma, Math.Log(cost / agent.BaseValue));
                foreach (var kind in kinds)
                    demand[(int)kind] += agent.ArrivalRate * bids * agent.Demand[kind];
            }
            var eta = 0.5 / Math.Sqrt(1 + iteration / 10.0);
            foreach (var kind in kinds)
            {
                var step = Math.Clamp(Math.Exp(eta * (demand[(int)kind] / supply[kind] - pricing.TargetRatio)), 0.5, 2);
                price[(int)kind] = Math.Clamp(price[(int)kind] * step, pricing.Floor, pricing.Ceiling);
            }
        }
        return new MarketPrices(price[0], price[1], price[2], price[3]);
    }

    private static double NormalizedSize(ResourceBundle bundle, ResourceBundle supply)
    {
        double size = 0;
        foreach (var kind in ResourceKinds.All)
        {
            if (supply[kind] > 0)
                size += (double)bundle[kind] / supply[kind];
        }
        return size;
    }

    private static double[] PerKind(Func<ResourceKind, double> of)
    {
        var values = new double[ResourceKinds.Count];
        foreach (var kind in ResourceKinds.All)
            values[(int)kind] = of(kind);
        return values;
    }

    private static string Num(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The ledger's invariant broke during a run: a bug, never a result.</summary>
public sealed class SimulationInvariantException(string message) : Exception(message);

