using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Cycles;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Market;
using CyAgents.Economy.Metrics;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Report;
using CyAgents.Orchestrator.Simulation.Scenarios;
using CyAgents.Orchestrator.Simulation.Strategies;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;

namespace CyAgents.Orchestrator.Simulation.Running;

/// <summary>
/// Runs one population under one mechanism for a number of cycles, with the same Economy code as live cycles:
/// every credit moves through an <see cref="InMemoryLedger"/> (escrow as pending transfers held by handle, settled
/// as <see cref="ClearingSettlement"/> settles a live cycle; ADR 0150), clearing through the registered mechanism,
/// prices through the market's pricing rule. After every cycle the ledger's conservation check runs; a failure stops
/// the run.
/// </summary>
public sealed class SimulationRunner
{
    /// <summary>A run of this many lost bids in a row counts as starving.</summary>
    public const int StarvationThreshold = 10;

    /// <summary>Log-scale spread of an agent's value from cycle to cycle around its base value.</summary>
    public const double ValueNoiseSigma = 0.25;

    /// <summary>
    /// Runs with agents x cycles^2 at or below this keep the full transfer log, so each cycle's check also replays
    /// it. The replay costs O(log) per check, O(agents x cycles^2) over a run; larger runs check balances only.
    /// </summary>
    public const double HistoryLimit = 1e7;

    public async Task<RunResult> RunAsync(string scenario, SimulationVariant variant, string mechanismName, int cycles, int seed,
        Action<int>? onCycle = null, CancellationToken ct = default, AgentCycleCsv? agentOutput = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cycles, 1);
        var stopwatch = Stopwatch.StartNew();
        var mechanism = ClearingMechanisms.Create(mechanismName);
        var run = await SimulationRun.OpenAsync(variant, cycles, seed, ct);
        run.DrawAhead = true;
        var rows = new List<CycleMetrics>(cycles);
        // A cycle's measures (efficiency bound, Gini, Jain) are computed on another core while the next cycle runs;
        // rows still arrive in cycle order, and the conservation check stays within the cycle, at the cycle's own state.
        Task<CycleMetrics>? measuring = null;
        async Task CompleteAsync(Task<CycleMetrics> measure)
        {
            var row = await measure;
            rows.Add(row);
            onCycle?.Invoke(row.Cycle);
        }
        try
        {
            for (var cycle = 1; cycle <= cycles; cycle++)
            {
                ct.ThrowIfCancellationRequested();
                var step = await run.StepAsync(mechanism, cycle, ct);
                if (agentOutput is not null)
                    run.WriteAgents(agentOutput, cycle);
                if (!step.Conserved)
                    throw new SimulationInvariantException(
                        $"the ledger's conservation check failed after cycle {cycle} of {variant.Name}/{mechanism.Name}");
                if (measuring is not null)
                    await CompleteAsync(measuring);
                measuring = run.StartMeasures(step);
            }
            await CompleteAsync(measuring!);
            measuring = null;
        }
        finally
        {
            // Never leave a measure or a draw running past the run (e.g. on cancellation).
            if (measuring is not null)
                await Task.WhenAny(measuring);
            await run.StopDrawingAheadAsync();
        }
        var finalWealth = run.Wealth();
        stopwatch.Stop();
        return new RunResult(scenario, variant.Name, mechanism.Name, seed, run.Supply, rows, run.Agents, finalWealth,
            new RunTiming(stopwatch.Elapsed, rows.Sum(r => (long)r.Agents)));
    }

    /// <summary>The state of one run between cycles, and one method per step of a cycle.</summary>
    internal sealed class SimulationRun
    {
        /// <summary>
        /// Large runs keep no log, and the smallest window of recent ids (a batch's ids stay until the next batch but one):
        /// every id a run makes is unique and nothing retries, and each id and memo the window keeps alive across a
        /// collection is promoted, the costliest pattern for the GC (a 2,048-id window was about 6 % slower at
        /// 10,000 agents; a 65,536-entry one landed on the large-object heap and cost full GCs).
        /// </summary>
        private static readonly InMemoryLedgerOptions LargeRunLedger = new() { RetainHistory = false, RecentIdWindow = 1 };

        /// <summary>Independent operations go to the ledger in batches this size (see <see cref="ApplyIndependent"/>).</summary>
        private const int IndependentBatch = 512;

        private readonly ScenarioSettings _settings;
        private readonly int _cycles;
        private readonly int _seed;
        private readonly List<SyntheticAgent> _agents;
        private readonly Dictionary<string, int> _byId;
        private readonly InMemoryLedger _ledger;
        private readonly IClearingMechanism _optimal = ClearingMechanisms.Create(OptimalMechanism.MechanismName);
        private readonly MersenneTwister _rng;
        private readonly List<Bid> _bids = [];
        private readonly List<int> _bidders = [];
        private readonly List<LedgerOperation> _operations = [];
        private MarketPrices _prices;
        // Per agent, by index: what it can spend, and this cycle's draws.
        private long[] _available;
        private int[] _arrivals;
        private double[] _noise;
        private double[] _uniform;
        // The next cycle's draws, being taken on another core (see StartNextDraws); null when none are under way.
        private Task? _nextDraws;
        private int _nextDrawsCycle;
        private int[] _nextArrivals = [];
        private double[] _nextNoise = [];
        private double[] _nextUniform = [];
        private bool _balancesStale = true;
        // Each agent's ledger account, by index, so a cycle's 10,000 balance reads need no lookup by id.
        private LedgerAccountHandle[] _accounts;
        private readonly LedgerAccountHandle _treasury;
        private readonly LedgerAccountHandle _escrow;
        private readonly List<Posting> _postings = [];
        // This cycle's escrows, held by handle (ADR 0150): one hold per bid, main bids and alternatives in the order placed;
        // _bidHold maps a main bid (by index) to its hold and _bidOf an agent to its main bid (-1: none).
        private readonly List<Posting> _holdPostings = [];
        private LedgerHold[] _holds = [];
        private HoldResolution[] _resolutions = [];
        private readonly List<int> _bidHold = [];
        // Per main bid: what it asked for and its true value, and which winner it is (-1: it lost), so the outcomes are
        // recorded in agent order, reading the agents one after another rather than in the winners' order.
        private readonly List<ResourceBundle> _bidBundle = [];
        private readonly List<long> _bidValue = [];
        private int[] _winOf = [];
        // A mechanism that does not treat an agent's bids as alternatives (drf) may grant several: each bid's wins are
        // chained in the winners' order (_winLast: the chain's end, _winNext: the next win of the same agent, -1: none).
        private int[] _winLast = [];
        private int[] _winNext = [];
        private int[] _bidOf;
        // The earning economy's parts (ADRs 0142, 0143); null when the scenario has none, so such runs are unchanged.
        private readonly SimulatedTaskBoard? _tasks;
        private readonly AlternativeBids? _alternatives;

        private SimulationRun(ScenarioSettings settings, int cycles, int seed, List<SyntheticAgent> agents, InMemoryLedger ledger)
        {
            _settings = settings;
            _cycles = cycles;
            _seed = seed;
            _agents = agents;
            _byId = agents.ToDictionary(a => a.Id, a => a.Index, StringComparer.Ordinal);
            _ledger = ledger;
            _rng = new MersenneTwister(SeedStreams.Derive(seed, "cycles"), threadSafe: false);
            Supply = settings.FixedSupply ?? MarketCalibration.SupplyFor(agents, settings.SupplyRatio);
            _prices = settings.InitialPrices ?? MarketCalibration.StartingPrices(agents, Supply, settings.Pricing, ValueNoiseSigma);
            _available = new long[agents.Count];
            _arrivals = new int[agents.Count];
            _noise = new double[agents.Count];
            _uniform = new double[agents.Count];
            _accounts = agents.Select(a => ledger.GetAccountHandle(a.AccountId)).ToArray();
            _treasury = ledger.GetAccountHandle(AccountIds.Treasury);
            _escrow = ledger.GetAccountHandle(AccountIds.Escrow);
            _bidOf = new int[agents.Count];
            _tasks = settings.Tasks is { } feed ? new SimulatedTaskBoard(feed, settings.Attention, seed, agents.Count) : null;
            _alternatives = agents.Any(a => a.Alternatives > 1) ? new AlternativeBids() : null;
        }

        public ResourceBundle Supply { get; }

        /// <summary>Take each cycle's draws during the cycle before, on another core (only when cycles come in order, as in a run).</summary>
        public bool DrawAhead { get; set; }

        public IReadOnlyList<SyntheticAgent> Agents => _agents;

        /// <summary>The last cycle's step input (its bid list is reused by the next cycle, so read it before that).</summary>
        internal CycleClearingInput? LastInput { get; private set; }

        /// <summary>What the last cycle's step decided.</summary>
        internal CycleClearingOutcome? LastStep { get; private set; }

        /// <summary>The run's ledger, for tests that follow a credit to its transfer.</summary>
        internal ILedger Ledger => _ledger;

        /// <summary>Draws the population, opens its accounts and pays the endowments.</summary>
        public static async Task<SimulationRun> OpenAsync(SimulationVariant variant, int cycles, int seed, CancellationToken ct)
        {
            var agents = new List<SyntheticAgent>(variant.Settings.Populate(variant.Agents, seed));
            var ledger = new InMemoryLedger((double)variant.Agents * cycles * cycles <= HistoryLimit
                ? InMemoryLedgerOptions.Default
                : LargeRunLedger);
            var endowments = new List<LedgerOperation>(agents.Count);
            foreach (var agent in agents)
            {
                await ledger.OpenAccountAsync(agent.AccountId, AccountKind.Agent, ct);
                if (agent.Endowment > 0)
                    endowments.Add(new TransferRequest("endow:" + agent.Id, AccountIds.Treasury, agent.AccountId, agent.Endowment,
                        TransferKind.Endowment, 0, "initial endowment"));
            }
            ApplyIndependent(ledger, endowments, ct);
            return new SimulationRun(variant.Settings, cycles, seed, agents, ledger);
        }

        /// <summary>One allocation cycle, start to end; returns its row of metrics.</summary>
        public async Task<CycleMetrics> CycleAsync(IClearingMechanism mechanism, int cycle, CancellationToken ct) =>
            await StartMeasures(await StepAsync(mechanism, cycle, ct));

        /// <summary>
        /// One allocation cycle, without its measures: pays, draws, bids, clears, settles, reads every balance and checks
        /// conservation. <see cref="StartMeasures"/> turns the result into the cycle's row.
        /// </summary>
        public async Task<CycleStep> StepAsync(IClearingMechanism mechanism, int cycle, CancellationToken ct)
        {
            if (_settings.Spawn is { } plan && plan.Cycle == cycle)
                await SpawnAsync(plan, cycle, ct);
            PayIncome(cycle);
            ReadBalancesIfStale();
            await TakeDrawsAsync(cycle);
            var gifts = GiveGifts(cycle);
            StartNextDraws(cycle + 1);
            if (_tasks is not null)
                await _tasks.OpenCycleAsync(cycle, _agents.Count, _ledger, ct);
            PlaceBids(cycle, ct);

            // The live economy's own cycle step (CycleClearing), so a simulated cycle clears, prices and settles as a live one does.
            var prices = _prices;
            LastInput = new CycleClearingInput(cycle, _alternatives is { Bids.Count: > 0 } xor ? [.. _bids, .. xor.Bids] : _bids,
                Supply, prices, mechanism,
                _settings.PricingEnabled ? _settings.Pricing : null, SeedStreams.Derive(_seed, "clearing", cycle),
                Reserve: _settings.Reserve.For(prices));
            var step = LastStep = CycleClearing.Run(LastInput);
            var result = step.Result;
            ResolveWinners(result);
            // The ledger's part (settling, reading every balance, the conservation check) and the agents' part (tallies,
            // strategies) touch disjoint state, so without a task board (which needs both) they run side by side.
            var ledgerWork = _tasks is null ? Task.Run(() => SettleAndRead(result, cycle)) : null;
            long welfare;
            try
            {
                welfare = RecordOutcomes(result, cycle);
            }
            catch
            {
                // Leave nothing of this cycle running past it.
                if (ledgerWork is not null)
                    await Task.WhenAny(ledgerWork);
                throw;
            }
            if (_tasks is not null)
            {
                Settle(result, cycle);
                await _tasks.SettleAsync(cycle, result, _byId, _agents, _ledger, ct);
            }
            _prices = step.Market.NextPrices;

            // What the measures read, copied: the bid list and the agents' tallies change in the next cycle.
            var bids = _bids.ToArray();
            var values = new long[bids.Length];
            for (var b = 0; b < values.Length; b++)
                values[b] = _bidValue[b];
            var alternatives = _alternatives is null ? [] : _alternatives.AtTrueValues().ToArray();
            var resourcesWon = new double[_agents.Count];
            for (var i = 0; i < resourcesWon.Length; i++)
                resourcesWon[i] = _agents[i].ResourcesWon;
            var (wealth, conservation) = ledgerWork is null ? ReadLedger() : await ledgerWork;
            return Measure(cycle, result, step.Market, welfare, gifts, bids, values, alternatives, prices, resourcesWon, wealth, conservation);
        }

        private (long[] Wealth, ConservationReport Conservation) SettleAndRead(ClearingResult result, int cycle)
        {
            Settle(result, cycle);
            return ReadLedger();
        }

        /// <summary>Every agent's posted balance (refreshing what each can spend) and the ledger's conservation check.</summary>
        private (long[] Wealth, ConservationReport Conservation) ReadLedger()
        {
            var wealth = new long[_agents.Count];
            _ledger.ReadBalances(_accounts, wealth, _available);
            // The in-memory ledger completes every call synchronously.
            return (wealth, _ledger.CheckConservationAsync().GetAwaiter().GetResult());
        }

        /// <summary>Each agent's posted balance after the last cycle's settlement, in agent order.</summary>
        private long[] _lastWealth = [];

        /// <summary>The last cycle, agent by agent (balance, bid, win, payment), to the per-agent output.</summary>
        public void WriteAgents(AgentCycleCsv output, int cycle)
        {
            var n = _agents.Count;
            var bid = new long[n];
            var won = new bool[n];
            var payment = new long[n];
            for (var b = 0; b < _bids.Count; b++)
                bid[_bidders[b]] = _bids[b].Amount;
            for (var i = 0; i < n; i++)
            {
                won[i] = _agents[i].LastWinCycle == cycle;
                payment[i] = won[i] ? _agents[i].PaidThisCycle : 0;
            }
            output.Write(cycle, _agents.Select(a => a.Id).ToArray(), _lastWealth, bid, won, payment);
        }

        /// <summary>Every agent's posted balance, in agent order.</summary>
        public long[] Wealth()
        {
            var wealth = new long[_agents.Count];
            _ledger.ReadBalances(_accounts, wealth, []);
            return wealth;
        }

        /// <summary>
        /// Every spawner splits into a family of Children + 1 identities with equal slices of its credits, demand and
        /// value. Children are funded by SpawnTransfer; each spawn costs the parent a SpawnFee to the treasury.
        /// Income stays per original identity: the treasury pays the family what it paid the parent.
        /// </summary>
        private async Task SpawnAsync(SpawnPlan plan, int cycle, CancellationToken ct)
        {
            var parents = _agents.Where(a => !a.IsChild && a.Strategy == BiddingStrategy.Spawner).ToList();
            var family = plan.Children + 1;
            var fees = plan.Fee * plan.Children;
            foreach (var parent in parents)
            {
                var balance = (await _ledger.GetBalanceAsync(parent.AccountId, ct)).Available;
                if (balance < fees + family)
                    continue;
                var share = (balance - fees) / family;
                var slice = SliceOf(parent.Demand, family);
                var income = parent.Income / family;
                for (var c = 1; c <= plan.Children; c++)
                {
                    var child = new SyntheticAgent(_agents.Count, $"{parent.Id}.c{c}", parent.Name + " #" + c, parent.Group,
                        BiddingStrategy.Truthful, slice, parent.BaseValue / family, parent.ArrivalRate, 0, income)
                    {
                        FamilyRoot = parent.Index,
                        Shade = parent.Shade,
                    };
                    _agents.Add(child);
                    _byId[child.Id] = child.Index;
                    await _ledger.OpenAccountAsync(child.AccountId, AccountKind.Agent, ct);
                    if (plan.Fee > 0)
                        _operations.Add(new TransferRequest("spawnfee:" + child.Id, parent.AccountId, AccountIds.Treasury, plan.Fee,
                            TransferKind.SpawnFee, cycle, "spawn fee"));
                    _operations.Add(new TransferRequest("spawn:" + child.Id, parent.AccountId, child.AccountId, share,
                        TransferKind.SpawnTransfer, cycle, "child endowment"));
                }
                parent.Demand = slice;
                parent.BaseValue /= family;
                parent.Income -= income * plan.Children;
            }
            Flush(ct);
            Array.Resize(ref _available, _agents.Count);
            Array.Resize(ref _arrivals, _agents.Count);
            Array.Resize(ref _noise, _agents.Count);
            Array.Resize(ref _uniform, _agents.Count);
            Array.Resize(ref _bidOf, _agents.Count);
            var first = _accounts.Length;
            Array.Resize(ref _accounts, _agents.Count);
            for (var i = first; i < _agents.Count; i++)
                _accounts[i] = _ledger.GetAccountHandle(_agents[i].AccountId);
            _balancesStale = true;
        }

        /// <summary>Income from the treasury, so the economy does not drain into it through clearing charges.</summary>
        /// <remarks>
        /// Postings, not id-keyed transfers: the run pays each agent once per cycle and never retries, and an id per
        /// payment was most of the ledger's work (ADR 0149).
        /// </remarks>
        private void PayIncome(int cycle)
        {
            if (!_settings.IncomeEnabled)
                return;
            _postings.Clear();
            for (var i = 0; i < _agents.Count; i++)
            {
                var agent = _agents[i];
                if (agent.Income <= 0)
                    continue;
                _postings.Add(new Posting(_treasury, _accounts[i], agent.Income));
                _available[i] += agent.Income;
            }
            _ledger.Post(CollectionsMarshal.AsSpan(_postings), TransferKind.Endowment, cycle, "income");
        }

        /// <summary>
        /// What each agent can spend is read from the ledger at the start, after spawning and at the end of every
        /// cycle, and carried forward with the income in between. Were the carried figure ever wrong, the ledger
        /// would refuse the escrow it could not cover and stop the run.
        /// </summary>
        private void ReadBalancesIfStale()
        {
            if (!_balancesStale)
                return;
            _ledger.ReadBalances(_accounts, [], _available);
            _balancesStale = false;
        }

        /// <summary>
        /// Random draws, all taken in agent order before anything depends on wealth, so every mechanism sees the
        /// same arrivals and values. A child is a slice of its parent: it has a task when the parent does.
        /// </summary>
        private void Draw(int cycle, int[] arrivals, double[] noise, double[] uniform)
        {
            var demandMultiplier = _settings.DemandMultiplier(cycle, _cycles);
            for (var i = 0; i < _agents.Count; i++)
            {
                var agent = _agents[i];
                if (agent.IsChild)
                {
                    arrivals[i] = arrivals[agent.FamilyRoot];
                    noise[i] = noise[agent.FamilyRoot];
                    var u = uniform[agent.FamilyRoot] + 0.6180339887498949 * (i - agent.FamilyRoot);
                    uniform[i] = u - Math.Floor(u);
                }
                else if (agent.FixedTask)
                {
                    arrivals[i] = 1;
                    noise[i] = 1;
                    uniform[i] = 0.5;
                }
                else
                {
                    var rate = agent.ArrivalRate * demandMultiplier;
                    arrivals[i] = rate > 0 ? Poisson.Sample(_rng, rate) : 0;
                    noise[i] = LogNormal.Sample(_rng, 0, ValueNoiseSigma);
                    uniform[i] = _rng.NextDouble();
                }
            }
        }

        /// <summary>
        /// This cycle's draws: the ones taken ahead on another core if there are any, else taken now. The draws depend on
        /// the random stream and the population alone, never on wealth, so taking them ahead changes no number.
        /// </summary>
        private async Task TakeDrawsAsync(int cycle)
        {
            if (_nextDraws is not { } drawing)
            {
                Draw(cycle, _arrivals, _noise, _uniform);
                return;
            }
            await drawing;
            _nextDraws = null;
            if (_nextDrawsCycle != cycle)
                throw new InvalidOperationException($"the draws were taken ahead for cycle {_nextDrawsCycle}, but cycle {cycle} came");
            (_arrivals, _nextArrivals) = (_nextArrivals, _arrivals);
            (_noise, _nextNoise) = (_nextNoise, _noise);
            (_uniform, _nextUniform) = (_nextUniform, _uniform);
        }

        /// <summary>
        /// Starts taking the draws of cycle <paramref name="next"/> on the thread pool, once this cycle's last use of the
        /// random stream (the gifts) is done; not into a spawn (which changes the population first) nor past the run.
        /// </summary>
        private void StartNextDraws(int next)
        {
            if (!DrawAhead || next > _cycles || _settings.Spawn is { } plan && plan.Cycle == next)
                return;
            if (_nextArrivals.Length != _agents.Count)
            {
                _nextArrivals = new int[_agents.Count];
                _nextNoise = new double[_agents.Count];
                _nextUniform = new double[_agents.Count];
            }
            var (arrivals, noise, uniform) = (_nextArrivals, _nextNoise, _nextUniform);
            _nextDrawsCycle = next;
            _nextDraws = Task.Run(() => Draw(next, arrivals, noise, uniform));
        }

        /// <summary>Waits for draws still being taken ahead (at the end of a run, or when it stops early).</summary>
        public async Task StopDrawingAheadAsync()
        {
            if (_nextDraws is { } drawing)
                await Task.WhenAny(drawing);
            _nextDraws = null;
        }

        /// <summary>
        /// Random pairwise gifts of a fixed amount, made only when the payer can afford them: the Dragulescu-Yakovenko
        /// exchange whose stationary wealth distribution is exponential (Gini 1/2).
        /// </summary>
        private int GiveGifts(int cycle)
        {
            if (_settings.GiftsPerAgent <= 0)
                return 0;
            var n = _agents.Count;
            var count = (int)Math.Round(_settings.GiftsPerAgent * n);
            var amount = _settings.GiftAmount;
            var moved = 0;
            _postings.Clear();
            for (var g = 0; g < count; g++)
            {
                var payer = _rng.Next(n);
                var payee = _rng.Next(n);
                if (payer == payee || _available[payer] < amount)
                    continue;
                _available[payer] -= amount;
                _available[payee] += amount;
                _postings.Add(new Posting(_accounts[payer], _accounts[payee], amount));
                moved++;
            }
            // Postings apply in order, so each gift sees the ones before it: what was affordable here is affordable there.
            _ledger.Post(CollectionsMarshal.AsSpan(_postings), TransferKind.Gift, cycle);
            return moved;
        }

        /// <summary>
        /// An agent with k tasks asks for k bundles at k times its value; it bids when that value covers the posted
        /// cost, for what its strategy says, never more than it can spend. Each bid is escrowed as a pending transfer.
        /// </summary>
        private void PlaceBids(int cycle, CancellationToken ct)
        {
            _bids.Clear();
            _bidders.Clear();
            _bidHold.Clear();
            _bidBundle.Clear();
            _bidValue.Clear();
            _holdPostings.Clear();
            _alternatives?.Clear();
            Array.Fill(_bidOf, -1);
            if (!_settings.MarketOpen)
                return;
            var cycleText = Num(cycle);
            for (var i = 0; i < _agents.Count; i++)
            {
                var agent = _agents[i];
                agent.ValueThisCycle = 0;
                agent.PaidThisCycle = 0;
                var k = _arrivals[i];
                // An agent with a task from the board wants compute even without tasks of its own (ADR 0142).
                var picked = _tasks is not null && _tasks.HasPick(i);
                if ((k <= 0 && !picked) || _available[i] <= 0 || agent.Demand.IsEmpty)
                    continue;
                var bundle = k <= 1 ? agent.Demand : agent.Demand.Scale(k);
                if (!bundle.FitsWithin(Supply))
                    continue;
                var ownValue = k > 0 ? Math.Max(1, (long)Math.Round(agent.BaseValue * _noise[i] * k)) : 0;
                var value = picked ? ownValue + _tasks!.ValueOf(i, agent, bundle) : ownValue;
                if (value < 1)
                    continue;
                var cost = _prices.CostOf(bundle);
                if (value < cost)
                    continue;
                var amount = Math.Min(_available[i], agent.Strategy.Bid(agent, new BidContext(value, _available[i], cost, _uniform[i])));
                if (amount < 1)
                    continue;
                agent.ValueThisCycle = value;
                agent.ValueBidFor += value;
                var bid = new Bid(string.Concat(cycleText, ":", agent.Id), agent.Id, bundle, amount);
                _bidOf[i] = _bids.Count;
                _bids.Add(bid);
                _bidders.Add(i);
                _bidHold.Add(_holdPostings.Count);
                _bidBundle.Add(bundle);
                _bidValue.Add(value);
                _holdPostings.Add(new Posting(_accounts[i], _escrow, amount));
                if (_alternatives is not null && agent.Alternatives > 1)
                {
                    var index = i;
                    _alternatives.Add(agent, cycleText, bundle, ownValue,
                        alternative => _tasks?.ValueOf(index, agent, alternative) ?? 0, _available[i] - amount, _prices, _uniform[i],
                        _holdPostings, _accounts[i], _escrow);
                }
            }
            ct.ThrowIfCancellationRequested();
            if (_holds.Length < _holdPostings.Count)
                _holds = new LedgerHold[Math.Max(_holdPostings.Count, _holds.Length * 2)];
            _ledger.Hold(CollectionsMarshal.AsSpan(_holdPostings), TransferKind.BidEscrow, _holds.AsSpan(0, _holdPostings.Count), cycle);
        }

        /// <summary>
        /// Settles the cycle's escrows as <see cref="ClearingSettlement"/> would, by handle: a winner's hold is posted at its
        /// payment (the rest returns) and a <see cref="TransferKind.ClearingCharge"/> moves the payment on to the treasury;
        /// every other hold (a loser's, or a bid refused before clearing) is voided. <see cref="ResolveWinners"/> has
        /// written each hold's resolution into <see cref="_resolutions"/>.
        /// </summary>
        private void Settle(ClearingResult result, int cycle)
        {
            var count = _holdPostings.Count;
            if (count == 0)
                return;
            _postings.Clear();
            for (var h = 0; h < count; h++)
            {
                if (_resolutions[h].Post is { } payment && payment > 0)
                    _postings.Add(new Posting(_escrow, _treasury, payment));
            }
            _ledger.Settle(_resolutions.AsSpan(0, count), cycle, result.Mechanism);
            _ledger.Post(CollectionsMarshal.AsSpan(_postings), TransferKind.ClearingCharge, cycle, result.Mechanism);
        }

        /// <summary>Updates every bidder's tallies and strategy; returns the winners' total true value.</summary>
        /// <summary>
        /// Finds each winner's agent, the bid it won with (its main bid or an alternative) and that bid's hold: writes every
        /// hold's resolution (voided unless its bid won) and what <see cref="RecordOutcomes"/> needs per winner.
        /// </summary>
        private void ResolveWinners(ClearingResult result)
        {
            var holds = _holdPostings.Count;
            if (_resolutions.Length < holds)
                _resolutions = new HoldResolution[Math.Max(holds, _resolutions.Length * 2)];
            for (var h = 0; h < holds; h++)
                _resolutions[h] = new HoldResolution(_holds[h], null);
            var winners = result.Winners;
            if (_winners.Length < winners.Count)
                _winners = new WinningBid[Math.Max(winners.Count, _winners.Length * 2)];
            if (_winOf.Length < _bids.Count)
            {
                _winOf = new int[Math.Max(_bids.Count, _winOf.Length * 2)];
                _winLast = new int[_winOf.Length];
            }
            if (_winNext.Length < winners.Count)
                _winNext = new int[Math.Max(winners.Count, _winNext.Length * 2)];
            Array.Fill(_winOf, -1, 0, _bids.Count);
            for (var w = 0; w < winners.Count; w++)
            {
                var winner = winners[w];
                // Every winner bid: its agent has a main bid, and alternatives only come beside one.
                var bid = _bidOf[_byId[winner.AgentId]];
                var (asked, askedValue, hold) = _alternatives is not null
                    && _alternatives.TryWinner(winner.BidId, out var alternative, out var alternativeValue, out var alternativeHold)
                    ? (alternative, alternativeValue, alternativeHold)
                    : (_bidBundle[bid], _bidValue[bid], _bidHold[bid]);
                _resolutions[hold] = new HoldResolution(_holds[hold], ClearingSettlement.CheckPayment(winner));
                _winners[w] = new WinningBid(asked, askedValue);
                _winNext[w] = -1;
                if (_winOf[bid] < 0)
                    _winOf[bid] = w;
                else
                    _winNext[_winLast[bid]] = w;
                _winLast[bid] = w;
            }
        }

        /// <summary>The bundle and true value of the bid a winner won with.</summary>
        private readonly record struct WinningBid(ResourceBundle Asked, long AskedValue);

        private WinningBid[] _winners = [];

        private long RecordOutcomes(ClearingResult result, int cycle)
        {
            long welfare = 0;
            var winners = result.Winners;
            // In bid order, which is agent order: each agent's tallies depend on its own outcome only (one win at most).
            for (var b = 0; b < _bidders.Count; b++)
            {
                var agent = _agents[_bidders[b]];
                var won = _winOf[b] >= 0;
                for (var w = _winOf[b]; w >= 0; w = _winNext[w])
                {
                    var winner = winners[w];
                    var (asked, askedValue) = _winners[w];
                    // A scaled grant (proportional) is worth its share of the task: the smallest granted / asked over the kinds.
                    var value = winner.Bundle == asked ? askedValue : ScaledValue(askedValue, asked, winner.Bundle);
                    agent.Wins++;
                    agent.LastWinCycle = cycle;
                    agent.LosingStreak = 0;
                    agent.PaidThisCycle = winner.Payment;
                    agent.Utility += value - winner.Payment;
                    agent.ValueWon += value;
                    agent.Paid += winner.Payment;
                    agent.ResourcesWon += NormalizedSize(winner.Bundle, Supply);
                    welfare += value;
                }
                if (!won)
                {
                    agent.Losses++;
                    agent.LosingStreak++;
                    agent.LongestLosingStreak = Math.Max(agent.LongestLosingStreak, agent.LosingStreak);
                }
                agent.Strategy.Observe(agent, won, agent.PaidThisCycle);
            }
            return welfare;
        }

        /// <summary>
        /// Welfare over the best welfare the same bidders could have had at their true values: against the exact
        /// optimum when the cycle is small enough for <c>optimal</c>, otherwise against the Lagrangian (LP) upper bound
        /// on it, which makes the figure a lower bound on the true efficiency. The bound is computed on every cycle
        /// with bids, so the gap to the optimum shows wherever both exist.
        /// </summary>
        private CycleEfficiency Efficiency(long welfare, Bid[] bids, long[] values, Bid[] alternatives, MarketPrices prices)
        {
            if (bids.Length == 0)
                return CycleEfficiency.None;
            var truthful = new Bid[bids.Length + alternatives.Length];
            for (var b = 0; b < bids.Length; b++)
                truthful[b] = bids[b] with { Amount = values[b] };
            // Alternatives too; the yardsticks ignore the one-win rule, so with alternatives efficiency is a lower bound.
            alternatives.CopyTo(truthful, bids.Length);
            var input = new ClearingInput(truthful, Supply, prices);
            var bound = WelfareBound.UpperBound(input);
            if (truthful.Length > _settings.OptimalBidLimit)
                return new CycleEfficiency(EconomyMetrics.Efficiency(welfare, bound), EfficiencyBasis.Bound, bound, null);
            var optimum = _optimal.Clear(input).Welfare;
            return new CycleEfficiency(EconomyMetrics.Efficiency(welfare, optimum), EfficiencyBasis.Exact, bound, optimum);
        }

        /// <summary>The cycle's step, from the balances read after settlement (<see cref="ReadLedger"/>).</summary>
        private CycleStep Measure(int cycle, ClearingResult result, MarketState market, long welfare, int gifts, Bid[] bids,
            long[] values, Bid[] alternatives, MarketPrices prices, double[] resourcesWon, long[] wealth, ConservationReport report)
        {
            var bankrupt = 0;
            var starving = 0;
            for (var i = 0; i < _agents.Count; i++)
            {
                if (_available[i] <= 0)
                    bankrupt++;
                if (_agents[i].LosingStreak >= StarvationThreshold)
                    starving++;
            }
            _lastWealth = wealth;
            return new CycleStep(cycle, _agents.Count, result, market, welfare, gifts, bids, values, alternatives, prices, resourcesWon,
                wealth, bankrupt, starving, report, _tasks?.Last, _alternatives?.Bids.Count, _alternatives?.Wins);
        }

        /// <summary>
        /// Starts computing the step's row on the thread pool: the welfare bound (and the optimum on small cycles), Gini
        /// and Jain. Pure functions of the step's copies, so running them beside the next cycle changes no figure.
        /// Only one may run at a time (the optimal mechanism is not shared): await it before starting the next.
        /// </summary>
        public Task<CycleMetrics> StartMeasures(CycleStep step) => Task.Run(() =>
        {
            var efficiency = Efficiency(step.Welfare, step.Bids, step.Values, step.Alternatives, step.Prices);
            var result = step.Result;
            var market = step.Market;
            return new CycleMetrics
            {
                Cycle = step.Cycle,
                Agents = step.Agents,
                ActiveAgents = step.Bids.Length,
                Winners = result.Winners.Count,
                Prices = PerKind(k => market[k].Price),
                Utilization = PerKind(result.Utilization),
                DemandRatio = PerKind(k => Supply[k] == 0 ? 0 : (double)market[k].Demand / Supply[k]),
                Welfare = step.Welfare,
                Efficiency = efficiency.Value,
                EfficiencyBasis = efficiency.Basis,
                WelfareBound = efficiency.Bound,
                OptimalWelfare = efficiency.Optimum,
                Revenue = result.Revenue,
                WealthGini = EconomyMetrics.Gini(step.Wealth),
                Jain = EconomyMetrics.JainIndex(step.ResourcesWon),
                Starving = step.Starving,
                Bankrupt = step.Bankrupt,
                Gifts = step.Gifts,
                TreasuryIssued = step.Conservation.TreasuryIssued,
                Conserved = step.Conservation.Holds,
                Tasks = step.Tasks,
                AlternativeBids = step.AlternativeBids,
                AlternativeWins = step.AlternativeWins,
            };
        });

        private void Flush(CancellationToken ct)
        {
            ApplyIndependent(_ledger, _operations, ct);
            _operations.Clear();
        }

        /// <summary>
        /// Applies operations that do not depend on each other (one agent's endowment, one child's funding) in batches of
        /// <see cref="IndependentBatch"/>: each could be its own transfer, and small batches keep the ledger's undo
        /// journal off the large-object heap. A cycle's settlement, by contrast, is one linked batch.
        /// </summary>
        private static void ApplyIndependent(InMemoryLedger ledger, List<LedgerOperation> operations, CancellationToken ct)
        {
            for (var from = 0; from < operations.Count; from += IndependentBatch)
            {
                ct.ThrowIfCancellationRequested();
                ledger.Apply(operations, from, Math.Min(IndependentBatch, operations.Count - from));
            }
        }

        private static ResourceBundle SliceOf(ResourceBundle bundle, int parts) => ResourceBundle.Create(
            CeilDiv(bundle.CpuMillicores, parts), CeilDiv(bundle.MemoryMiB, parts), CeilDiv(bundle.Tokens, parts),
            CeilDiv(bundle.AttentionBasisPoints, parts));

        private static long CeilDiv(long a, long b) => (a + b - 1) / b;

        private static long ScaledValue(long value, ResourceBundle asked, ResourceBundle granted)
        {
            Int128 scaled = value;
            foreach (var kind in ResourceKinds.All)
            {
                if (asked[kind] > 0)
                    scaled = Int128.Min(scaled, (Int128)value * granted[kind] / asked[kind]);
            }
            return (long)scaled;
        }

        // Once per winner per cycle: the kinds spelled out (in their stable order, so the sum is the same double) rather
        // than enumerated through ResourceKinds.All, whose enumerator is an allocation.
        private static double NormalizedSize(ResourceBundle bundle, ResourceBundle supply)
        {
            double size = 0;
            if (supply.CpuMillicores > 0)
                size += (double)bundle.CpuMillicores / supply.CpuMillicores;
            if (supply.MemoryMiB > 0)
                size += (double)bundle.MemoryMiB / supply.MemoryMiB;
            if (supply.Tokens > 0)
                size += (double)bundle.Tokens / supply.Tokens;
            if (supply.AttentionBasisPoints > 0)
                size += (double)bundle.AttentionBasisPoints / supply.AttentionBasisPoints;
            return size;
        }

        private static double[] PerKind(Func<ResourceKind, double> of)
        {
            var values = new double[ResourceKinds.Count];
            foreach (var kind in ResourceKinds.All)
                values[(int)kind] = of(kind);
            return values;
        }

        private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>One simulated cycle after settlement: what its row of measures is computed from (copies, safe to read on another thread).</summary>
internal sealed record CycleStep(int Cycle, int Agents, ClearingResult Result, MarketState Market, long Welfare, int Gifts,
    Bid[] Bids, long[] Values, Bid[] Alternatives, MarketPrices Prices, double[] ResourcesWon, long[] Wealth, int Bankrupt, int Starving,
    ConservationReport Conservation, TaskCycleMetrics? Tasks, int? AlternativeBids, int? AlternativeWins)
{
    /// <summary>The ledger's conservation check held after the cycle.</summary>
    public bool Conserved => Conservation.Holds;
}

/// <summary>A cycle's efficiency, what it was measured against, and the two yardsticks (null when not computed).</summary>
internal readonly record struct CycleEfficiency(double? Value, EfficiencyBasis? Basis, long? Bound, long? Optimum)
{
    public static CycleEfficiency None => new(null, null, null, null);
}

/// <summary>The ledger's invariant broke during a run: a bug, never a result.</summary>
public sealed class SimulationInvariantException(string message) : Exception(message);
