using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyAgents.Economy.Attention;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Tasks;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// Reads a scenario file (JSON, format in docs/simulator.md) into a <see cref="Scenario"/>. Strict: unknown or
/// duplicate fields, wrong types, out-of-range values and unparsable formulas are refused with one line naming the
/// file and the field. The built-in scenarios are such files, embedded in the program (<see cref="ScenarioCatalog"/>).
/// </summary>
public static class ScenarioFile
{
    /// <summary>Largest scenario file read, in bytes: a scenario is a page of settings, not data.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>Most alternative bundles an agent bids per cycle: each is one more bid for every mechanism to clear.</summary>
    public const int MaxAlternatives = 8;

    /// <summary>Reads the file at <paramref name="path"/>; throws <see cref="ScenarioFileException"/>.</summary>
    public static Scenario Load(string path)
    {
        var name = System.IO.Path.GetFileName(path);
        FileInfo info;
        try
        {
            info = new FileInfo(path);
            if (!info.Exists)
                throw new ScenarioFileException($"scenario file {path}: not found");
            if (info.Length > MaxBytes)
                throw new ScenarioFileException($"scenario file {name}: larger than {MaxBytes} bytes");
            return Parse(File.ReadAllText(path), name);
        }
        catch (IOException ex)
        {
            throw new ScenarioFileException($"scenario file {path}: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ScenarioFileException($"scenario file {path}: {ex.Message}");
        }
    }

    /// <summary>Parses scenario JSON; <paramref name="source"/> names it in errors.</summary>
    public static Scenario Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new ScenarioFileException($"scenario file {source}: not valid JSON ({FirstLine(ex.Message)})");
        }
        if (root is not JsonObject rootObject)
            throw new ScenarioFileException($"scenario file {source}: must be a JSON object");
        var file = new ScenarioJson(source, "", JsonSerializer.SerializeToElement(rootObject));

        var name = file.RequiredString("name");
        if (!name.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '-'))
            throw file.Fail("name", $"must be lower-case letters, digits and '-' (got '{name}')");
        var summary = file.RequiredString("summary");
        var knownAnswer = file.String("known_answer") ?? "none";
        var evaluation = file.String("evaluation") ?? ScenarioEvaluations.Overview;
        if (!ScenarioEvaluations.Names.Contains(evaluation))
            throw file.Fail("evaluation", $"unknown evaluation '{evaluation}'; known: {string.Join(", ", ScenarioEvaluations.Names)}");

        var defaults = file.RequiredObject("defaults");
        var defaultAgents = (int)(defaults.Integer("agents", 1, 10_000_000) ?? throw defaults.Missing("agents"));
        var defaultCycles = (int)(defaults.Integer("cycles", 1, 10_000_000) ?? throw defaults.Missing("cycles"));
        var mechanisms = defaults.Strings("mechanisms") ?? throw defaults.Missing("mechanisms");
        foreach (var m in mechanisms)
        {
            if (!ClearingMechanisms.TryCreate(m, out _))
                throw defaults.Fail("mechanisms", $"unknown mechanism '{m}'; known: {string.Join(", ", ClearingMechanisms.Names)}");
        }
        defaults.EnsureAllRead();
        var minimumAgents = (int)(file.Integer("minimum_agents", 1, 10_000_000) ?? 2);

        var population = ReadPopulation(file.RequiredObject("population"));
        var baseMarket = rootObject["market"] as JsonObject ?? new JsonObject();
        if (file.Raw("market") is { ValueKind: not JsonValueKind.Object })
            throw file.Fail("market", "must be an object");
        ReadMarket(new ScenarioJson(source, "market", JsonSerializer.SerializeToElement(baseMarket)));

        var variants = new List<VariantPlan>();
        var variantObjects = file.Objects("variants");
        if (file.Has("variants") && variantObjects.Count == 0)
            throw file.Fail("variants", "must list at least one variant (or be left out for one variant named base)");
        var variantNodes = rootObject["variants"] as JsonArray;
        for (var v = 0; v < variantObjects.Count; v++)
        {
            var variant = variantObjects[v];
            var template = variant.String("name") ?? throw variant.Missing("name");
            var label = NameTemplate.Parse(template, variant);
            var agents = variant.Expression("agents", "n") ?? ScenarioExpression.Parse("n", "n");
            variant.Raw("market");
            variant.EnsureAllRead();
            var merged = (JsonObject)baseMarket.DeepClone();
            if (variantNodes![v]!["market"] is { } overrideNode)
            {
                if (overrideNode is not JsonObject overrides)
                    throw variant.Fail("market", "must be an object");
                foreach (var (key, value) in overrides)
                    merged[key] = value?.DeepClone();
            }
            var market = ReadMarket(new ScenarioJson(source, ScenarioJson.Join(variant.Path, "market"), JsonSerializer.SerializeToElement(merged)));
            if (variants.Any(existing => existing.Template.Text == template))
                throw variant.Fail("name", $"repeats variant '{template}'");
            variants.Add(new VariantPlan(label, agents, market));
        }
        if (variants.Count == 0)
            variants.Add(new VariantPlan(NameTemplate.Parse("base", file), ScenarioExpression.Parse("n", "n"),
                ReadMarket(new ScenarioJson(source, "market", JsonSerializer.SerializeToElement(baseMarket)))));
        file.EnsureAllRead();

        return new FileScenario(name, summary, knownAnswer, evaluation, defaultAgents, defaultCycles, mechanisms, minimumAgents,
            population, variants);
    }

    private static PopulationPlan ReadPopulation(ScenarioJson population)
    {
        var generated = population.Object("generated");
        var classes = population.Object("classes");
        population.EnsureAllRead();
        if ((generated is null) == (classes is null))
            throw population.Fail("needs exactly one of generated (drawn from distributions) or classes (built by hand)");
        return generated is not null ? ReadGenerated(generated) : ReadClasses(classes!);
    }

    private static PopulationPlan ReadGenerated(ScenarioJson g)
    {
        var spec = new PopulationSpec();
        var mix = g.Objects("strategy_mix");
        if (g.Has("strategy_mix"))
        {
            if (mix.Count == 0)
                throw g.Fail("strategy_mix", "must list at least one strategy");
            var shares = new List<StrategyShare>();
            foreach (var share in mix)
            {
                var strategyName = share.RequiredString("strategy");
                var strategy = BiddingStrategy.Find(strategyName)
                    ?? throw share.Fail("strategy", $"unknown strategy '{strategyName}'; known: {string.Join(", ", BiddingStrategy.All.Select(s => s.Name))}");
                var weight = share.Number("weight", 0, 1e9, exclusiveMin: true) ?? throw share.Missing("weight");
                share.EnsureAllRead();
                if (shares.Any(s => s.Strategy == strategy))
                    throw share.Fail("strategy", $"lists '{strategy.Name}' twice");
                shares.Add(new StrategyShare(strategy, weight));
            }
            spec = spec with { Mix = shares };
        }
        spec = spec with
        {
            Endowment = ReadDistribution(g.Object("endowment"), spec.Endowment, positive: true),
            EndowmentCap = g.Number("endowment_cap", 1, 1e15) ?? spec.EndowmentCap,
            IncomeRate = g.Number("income_rate", 0, 10) ?? spec.IncomeRate,
            TaskValue = ReadDistribution(g.Object("task_value"), spec.TaskValue, positive: true),
            ArrivalRate = g.Number("arrival_rate", 0, 1000) ?? spec.ArrivalRate,
            ArrivalSpread = ReadDistribution(g.Object("arrival_spread"), spec.ArrivalSpread, positive: false),
            Shade = ReadDistribution(g.Object("shade"), spec.Shade, positive: false),
            TokenUserShare = g.Number("token_user_share", 0, 1) ?? spec.TokenUserShare,
            AttentionSeekers = g.Number("attention_seekers", 0, 1e9) ?? spec.AttentionSeekers,
            Skill = g.Object("skill") is { } skill ? ReadDistribution(skill, Distribution.Constant(SyntheticAgent.DefaultSkill), positive: false) : null,
            Alternatives = (int)(g.Integer("alternatives", 1, MaxAlternatives) ?? 1),
        };
        if (g.Object("demand") is { } demand)
        {
            spec = spec with
            {
                Cpu = ReadQuantity(demand.Object("cpu"), spec.Cpu),
                Memory = ReadQuantity(demand.Object("memory"), spec.Memory),
                Tokens = ReadQuantity(demand.Object("tokens"), spec.Tokens),
                Attention = ReadQuantity(demand.Object("attention"), spec.Attention),
            };
            demand.EnsureAllRead();
        }
        g.EnsureAllRead();
        return new PopulationPlan(spec, null, null);
    }

    private static Distribution ReadDistribution(ScenarioJson? d, Distribution fallback, bool positive)
    {
        if (d is null)
            return fallback;
        var family = d.RequiredString("distribution");
        Distribution result = family switch
        {
            "constant" => Distribution.Constant(d.Number("value", positive ? 0 : -1e15, 1e15, exclusiveMin: positive) ?? throw d.Missing("value")),
            "uniform" => Distribution.Uniform(d.Number("min", positive ? 0 : -1e15, 1e15) ?? throw d.Missing("min"),
                d.Number("max", positive ? 0 : -1e15, 1e15) ?? throw d.Missing("max")),
            "lognormal" => Distribution.LogNormal(d.Number("median", 0, 1e15, exclusiveMin: true) ?? throw d.Missing("median"),
                d.Number("sigma", 0, 10) ?? throw d.Missing("sigma")),
            "pareto" => Distribution.Pareto(d.Number("scale", 0, 1e15, exclusiveMin: true) ?? throw d.Missing("scale"),
                d.Number("shape", 0, 100, exclusiveMin: true) ?? throw d.Missing("shape")),
            _ => throw d.Fail("distribution", $"unknown distribution '{family}'; known: constant, uniform, lognormal, pareto"),
        };
        if (result.Family == DistributionFamily.Uniform && !(result.B > result.A))
            throw d.Fail("max", $"must be above min ({result.A.ToString(CultureInfo.InvariantCulture)})");
        return result;
    }

    private static DemandQuantity ReadQuantity(ScenarioJson? q, DemandQuantity fallback)
    {
        if (q is null)
            return fallback;
        var draw = ReadDistribution(q.Object("draw"), fallback.Draw, positive: true);
        var step = q.Integer("step", 1, ClearingValidation.MaxQuantity) ?? fallback.Step;
        var min = q.Integer("min", 0, ClearingValidation.MaxQuantity) ?? fallback.Min;
        var max = q.Integer("max", 1, ClearingValidation.MaxQuantity) ?? fallback.Max;
        if (min > max)
            throw q.Fail("min", $"must not be above max ({max})");
        q.EnsureAllRead();
        return new DemandQuantity(draw, step, min, max);
    }

    private static PopulationPlan ReadClasses(ScenarioJson c)
    {
        var assign = c.String("assign") ?? "cycle";
        if (assign is not ("cycle" or "first"))
            throw c.Fail("assign", $"must be cycle (agent i gets class i mod classes) or first (each class its count, the last the rest) (got '{assign}')");
        var list = c.Objects("list");
        if (list.Count == 0)
            throw c.Fail("list", "must list at least one class");
        var classes = new List<AgentClass>();
        for (var i = 0; i < list.Count; i++)
        {
            var item = list[i];
            var group = item.RequiredString("group");
            var strategyName = item.String("strategy") ?? BiddingStrategy.Truthful.Name;
            var strategy = BiddingStrategy.Find(strategyName)
                ?? throw item.Fail("strategy", $"unknown strategy '{strategyName}'; known: {string.Join(", ", BiddingStrategy.All.Select(s => s.Name))}");
            var value = item.Expression("value", "n") ?? throw item.Missing("value");
            var count = item.Expression("count", "n");
            if (assign == "first" && count is null && i < list.Count - 1)
                throw item.Missing("count");
            if (assign == "cycle" && count is not null)
                throw item.Fail("count", "is only for assign: first");
            var demand = item.Object("demand");
            var bundle = ReadBundle(demand);
            var skill = item.Number("skill", 0, 1) ?? SyntheticAgent.DefaultSkill;
            var alternatives = (int)(item.Integer("alternatives", 1, MaxAlternatives) ?? 1);
            item.EnsureAllRead();
            classes.Add(new AgentClass(group, strategy, value, count, bundle, skill, alternatives));
        }
        c.EnsureAllRead();
        return new PopulationPlan(null, classes, assign);
    }

    /// <summary>cpu, memory, tokens and attention, each a number or a formula over n; missing kinds are 0.</summary>
    private static ScenarioExpression[] ReadBundle(ScenarioJson? b)
    {
        var zero = ScenarioExpression.Constant(0);
        if (b is null)
            return [zero, zero, zero, zero];
        var result = ResourceKinds.All.Select(k => b.Expression(k.WireName(), "n") ?? zero).ToArray();
        b.EnsureAllRead();
        return result;
    }

    private static MarketPlan ReadMarket(ScenarioJson m)
    {
        var open = m.Bool("open") ?? true;
        var supplyRatio = m.Number("supply_ratio", 0, 1000, exclusiveMin: true) ?? 0.6;
        var supply = m.Object("supply") is { } s ? ReadBundle(s) : null;
        MarketPrices? prices = null;
        var calibrate = true;
        if (m.Raw("initial_prices") is { } p)
        {
            if (p.ValueKind == JsonValueKind.String && p.GetString() is "zero" or "calibrated")
            {
                calibrate = p.GetString() == "calibrated";
                prices = calibrate ? null : MarketPrices.Zero;
            }
            else if (p.ValueKind == JsonValueKind.Object)
            {
                var given = new ScenarioJson(m.Source, ScenarioJson.Join(m.Path, "initial_prices"), p);
                double Price(ResourceKind kind) => given.Number(kind.WireName(), 0, 1e6) ?? 0;
                prices = new MarketPrices(Price(ResourceKind.Cpu), Price(ResourceKind.Memory), Price(ResourceKind.Tokens), Price(ResourceKind.Attention));
                given.EnsureAllRead();
                calibrate = false;
            }
            else
                throw m.Fail("initial_prices", "must be \"calibrated\", \"zero\" or an object of prices per kind");
        }
        var reserve = ReserveRule.None;
        if (m.Raw("reserve") is { } r)
        {
            if (r.ValueKind == JsonValueKind.String && r.GetString() is "none" or "posted")
                reserve = r.GetString() == "posted" ? ReserveRule.Posted : ReserveRule.None;
            else if (r.ValueKind == JsonValueKind.Object)
            {
                var given = new ScenarioJson(m.Source, ScenarioJson.Join(m.Path, "reserve"), r);
                double Price(ResourceKind kind) => given.Number(kind.WireName(), 0, 1e6) ?? 0;
                reserve = ReserveRule.Fixed(new MarketPrices(Price(ResourceKind.Cpu), Price(ResourceKind.Memory), Price(ResourceKind.Tokens), Price(ResourceKind.Attention)));
                given.EnsureAllRead();
            }
            else
                throw m.Fail("reserve", "must be \"none\", \"posted\" or an object of reserve prices per kind");
        }
        var pricing = new PricingOptions();
        var pricingEnabled = true;
        if (m.Object("pricing") is { } po)
        {
            pricingEnabled = po.Bool("enabled") ?? true;
            pricing = pricing with
            {
                Eta = po.Number("eta", 0, 100, exclusiveMin: true) ?? pricing.Eta,
                TargetRatio = po.Number("target_ratio", 0, 100, exclusiveMin: true) ?? pricing.TargetRatio,
                Smoothing = po.Number("smoothing", 0, 1, exclusiveMin: true) ?? pricing.Smoothing,
                MaxStepFactor = po.Number("max_step_factor", 1, 1000) ?? pricing.MaxStepFactor,
                Floor = po.Number("floor", 0, 1e9, exclusiveMin: true) ?? pricing.Floor,
                Ceiling = po.Number("ceiling", 0, 1e12, exclusiveMin: true) ?? pricing.Ceiling,
            };
            if (pricing.Floor > pricing.Ceiling)
                throw po.Fail("floor", "must not be above ceiling");
            po.EnsureAllRead();
        }
        var income = m.Bool("income") ?? true;
        var optimalLimit = (int)(m.Integer("optimal_bid_limit", 0, OptimalMechanism.MaxBids) ?? 20);
        double giftsPerAgent = 0;
        long giftAmount = 0;
        if (m.Object("gifts") is { } gifts)
        {
            giftsPerAgent = gifts.Number("per_agent", 0, 1000) ?? throw gifts.Missing("per_agent");
            giftAmount = gifts.Integer("amount", 1, ClearingValidation.MaxAmount) ?? throw gifts.Missing("amount");
            gifts.EnsureAllRead();
        }
        SpawnPlan? spawn = null;
        if (m.Object("spawn") is { } sp)
        {
            spawn = new SpawnPlan((int)(sp.Integer("cycle", 1, 10_000_000) ?? throw sp.Missing("cycle")),
                (int)(sp.Integer("children", 1, 100) ?? throw sp.Missing("children")),
                sp.Integer("fee", 0, ClearingValidation.MaxAmount) ?? 0);
            sp.EnsureAllRead();
        }
        var shocks = new List<ShockPlan>();
        foreach (var shock in m.Objects("shocks"))
        {
            var from = shock.Expression("from_cycle", "c") ?? throw shock.Missing("from_cycle");
            var to = shock.Expression("to_cycle", "c") ?? throw shock.Missing("to_cycle");
            var multiplier = shock.Number("demand_multiplier", 0, 1000) ?? throw shock.Missing("demand_multiplier");
            shock.EnsureAllRead();
            shocks.Add(new ShockPlan(from, to, multiplier));
        }
        var tasks = m.Object("tasks") is { } t ? ReadTasks(t) : null;
        var attention = PromptAttention.Default;
        if (m.Object("attention") is { } a)
        {
            attention = new PromptAttention(a.Integer("per_prompt", 1, 10_000) ?? attention.PerPrompt,
                a.Integer("per_thousand_characters", 0, 10_000) ?? attention.PerThousandCharacters);
            a.EnsureAllRead();
        }
        m.EnsureAllRead();
        return new MarketPlan(open, supplyRatio, supply, calibrate ? null : prices ?? MarketPrices.Zero, pricing, pricingEnabled, income,
            optimalLimit, giftsPerAgent, giftAmount, spawn, shocks, reserve, tasks, attention);
    }

    /// <summary>The operator's task feed (ADR 0142): tasks per cycle (a formula over n), rewards, deadline, human review.</summary>
    private static TaskFeedPlan ReadTasks(ScenarioJson t)
    {
        var perCycle = t.Expression("per_cycle", "n") ?? throw t.Missing("per_cycle");
        var reward = ReadDistribution(t.Object("reward") ?? throw t.Missing("reward"), Distribution.Constant(1), positive: true);
        var deadline = (int)(t.Integer("deadline_cycles", 1, TaskRules.MaxDeadlineCycles) ?? 5);
        var reviewShare = t.Number("review_share", 0, 1) ?? 0;
        var reviewCharacters = (int)(t.Integer("review_characters", 0, 1_000_000) ?? 1000);
        t.EnsureAllRead();
        return new TaskFeedPlan(perCycle, reward, deadline, reviewShare, reviewCharacters);
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}

/// <summary>The population of a scenario file: drawn from <see cref="Spec"/>, or built by hand from <see cref="Classes"/>.</summary>
internal sealed record PopulationPlan(PopulationSpec? Spec, IReadOnlyList<AgentClass>? Classes, string? Assign);

/// <summary>A hand-built class of agents: each has one task per cycle of exactly <see cref="Value"/> credits.</summary>
internal sealed record AgentClass(string Group, BiddingStrategy Strategy, ScenarioExpression Value, ScenarioExpression? Count,
    ScenarioExpression[] Demand, double Skill, int Alternatives);

/// <summary>The task feed as read from the file: tasks per cycle is a formula over n, evaluated per variant.</summary>
internal sealed record TaskFeedPlan(ScenarioExpression PerCycle, Distribution Reward, int DeadlineCycles, double ReviewShare, int ReviewCharacters);

/// <summary>A shock window: arrivals are multiplied between two cycles (formulas over c, the run's cycles), inclusive.</summary>
internal sealed record ShockPlan(ScenarioExpression From, ScenarioExpression To, double Multiplier);

/// <summary>The economy of a variant, as read from the file (formulas not yet evaluated).</summary>
internal sealed record MarketPlan(bool Open, double SupplyRatio, ScenarioExpression[]? Supply, MarketPrices? InitialPrices,
    PricingOptions Pricing, bool PricingEnabled, bool Income, int OptimalBidLimit, double GiftsPerAgent, long GiftAmount,
    SpawnPlan? Spawn, IReadOnlyList<ShockPlan> Shocks, ReserveRule Reserve, TaskFeedPlan? Tasks, PromptAttention Attention);

/// <summary>One variant of a scenario file.</summary>
internal sealed record VariantPlan(NameTemplate Template, ScenarioExpression Agents, MarketPlan Market);

/// <summary>A variant name with formulas over n in braces, e.g. <c>m{n-1}</c>.</summary>
internal sealed class NameTemplate
{
    private readonly List<(string Text, ScenarioExpression? Formula)> _parts;

    private NameTemplate(string text, List<(string, ScenarioExpression?)> parts)
    {
        Text = text;
        _parts = parts;
    }

    public string Text { get; }

    public static NameTemplate Parse(string text, ScenarioJson at)
    {
        var parts = new List<(string, ScenarioExpression?)>();
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf('{', i);
            if (open < 0)
            {
                parts.Add((text[i..], null));
                break;
            }
            parts.Add((text[i..open], null));
            var close = text.IndexOf('}', open);
            if (close < 0)
                throw at.Fail("name", $"has an unclosed '{{' in '{text}'");
            try
            {
                parts.Add(("", ScenarioExpression.Parse(text[(open + 1)..close], "n")));
            }
            catch (FormatException ex)
            {
                throw at.Fail("name", ex.Message);
            }
            i = close + 1;
        }
        var literal = string.Concat(parts.Where(p => p.Item2 is null).Select(p => p.Item1));
        if (!literal.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
            throw at.Fail("name", $"may hold only letters, digits, '-' and '_' besides {{formulas}} (got '{text}')");
        return new NameTemplate(text, parts);
    }

    public string Render(int n) => string.Concat(_parts.Select(p =>
        p.Formula is null ? p.Text : p.Formula.Evaluate(n).ToString("0.######", CultureInfo.InvariantCulture)));
}
