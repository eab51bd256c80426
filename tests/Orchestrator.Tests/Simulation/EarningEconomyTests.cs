using System.Security.Cryptography;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Tasks;
using CyAgents.Orchestrator.Simulation;
using CyAgents.Orchestrator.Simulation.Report;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>
/// The simulator's earning economy (ADRs 0142-0144): the operator's tasks paid through the Economy's task transfers, the
/// human's attention binding reviewed submissions, agents' alternative bids of which at most one wins, and the tasks scenario.
/// </summary>
public class EarningEconomyTests
{
    /// <summary>Hand-built agents with plenty of supply, so every agent wins every cycle and the task board alone decides.</summary>
    private static SimulationVariant Variant(string classes, string tasks, string attention = "", int agents = 4)
    {
        var json = $$"""
        {
          "name": "earning", "summary": "s",
          "defaults": { "agents": {{agents}}, "cycles": 10, "mechanisms": ["critical-value"] },
          "population": { "classes": { "assign": "cycle", "list": [{{classes}}] } },
          "market": {
            "supply": { "cpu": 100000, "memory": 100000, "tokens": 100000, "attention": 10000 },
            "initial_prices": "zero", "pricing": { "enabled": false },
            "tasks": {{tasks}}{{attention}}
          }
        }
        """;
        return ScenarioFile.Parse(json, "earning.json").Plan(agents).ShouldHaveSingleItem();
    }

    private static async Task<SimulationRunner.SimulationRun> RunCyclesAsync(SimulationVariant variant, int cycles, string mechanism = "critical-value")
    {
        var run = await SimulationRunner.SimulationRun.OpenAsync(variant, cycles, seed: 7, CancellationToken.None);
        var clearing = ClearingMechanisms.Create(mechanism);
        for (var cycle = 1; cycle <= cycles; cycle++)
            (await run.CycleAsync(clearing, cycle, CancellationToken.None)).Conserved.ShouldBeTrue($"cycle {cycle}");
        return run;
    }

    private static async Task<List<Transfer>> TransfersAsync(ILedger ledger, string account)
    {
        var all = new List<Transfer>();
        for (var skip = 0; ; skip += 500)
        {
            var page = await ledger.GetTransfersAsync(account, skip, 500);
            all.AddRange(page);
            if (page.Count < 500)
                return all;
        }
    }

    [Fact]
    public async Task A_reward_is_paid_only_on_a_pass_and_only_once()
    {
        // Two agents always pass, two never do; one task of 50 credits a cycle, which all four attempt.
        var variant = Variant("""
            { "group": "skilled", "value": 10, "demand": { "cpu": 100 }, "skill": 1 },
            { "group": "unskilled", "value": 10, "demand": { "cpu": 100 }, "skill": 0 }
            """, """{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 50 }, "deadline_cycles": 3 }""");
        var run = await RunCyclesAsync(variant, cycles: 8);

        var rewards = (await TransfersAsync(run.Ledger, AccountIds.Escrow)).Where(t => t.Kind == TransferKind.TaskReward).ToList();
        rewards.Count.ShouldBe(8, "each cycle's task is won by the first passing submission");
        rewards.Select(t => t.Id).Distinct().Count().ShouldBe(8);
        rewards.ShouldAllBe(t => t.Amount == 50 && t.Id.StartsWith("task:sim-c") && t.Id.EndsWith(":award"));
        var skilled = run.Agents.Where(a => a.Group == "skilled").ToList();
        rewards.ShouldAllBe(t => skilled.Any(a => a.AccountId == t.CreditAccountId));
        run.Agents.Where(a => a.Group == "unskilled").ShouldAllBe(a => a.TaskEarnings == 0 && a.TasksAwarded == 0);
        skilled.Sum(a => a.TaskEarnings).ShouldBe(8 * 50);
        // The other skilled agent passed too, but second: it earns nothing (TaskRules.Judged → Passed).
        var last = (await run.CycleAsync(ClearingMechanisms.Create("critical-value"), 9, CancellationToken.None)).Tasks!;
        last.ShouldBe(last with { Posted = 1, Attempts = 4, Passed = 2, Awarded = 1, RewardsPaid = 50, PassedUnpaid = 1, Expired = 0 });

        // A second award of a paid task, to the other agent, is refused by the ledger and changes nothing.
        var paid = rewards[0];
        var taskId = paid.Id["task:".Length..^":award".Length];
        var other = skilled.First(a => a.AccountId != paid.CreditAccountId);
        var before = await run.Ledger.GetBalancesAsync();
        await Should.ThrowAsync<LedgerException>(async () =>
            await run.Ledger.ApplyBatchAsync(TaskTransfers.AwardTo(taskId, other.Id, 50, 9)));
        (await run.Ledger.GetBalancesAsync()).ShouldBe(before);
        (await run.Ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task An_unawarded_reward_returns_to_the_treasury_at_the_deadline()
    {
        var variant = Variant("""{ "group": "unskilled", "value": 10, "demand": { "cpu": 100 }, "skill": 0 }""",
            """{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 40 }, "deadline_cycles": 2 }""");
        var run = await SimulationRunner.SimulationRun.OpenAsync(variant, 6, seed: 7, CancellationToken.None);
        var clearing = ClearingMechanisms.Create("critical-value");
        var rows = new List<CycleMetrics>();
        for (var cycle = 1; cycle <= 6; cycle++)
            rows.Add(await run.CycleAsync(clearing, cycle, CancellationToken.None));

        // Posted in cycle c, a task takes submissions up to cycle c + 2 and is returned before cycle c + 3 clears.
        rows.Select(r => r.Tasks!.Expired).ShouldBe([0, 0, 0, 1, 1, 1]);
        rows.Select(r => r.Tasks!.Open).ShouldBe([1, 2, 3, 3, 3, 3]);
        rows.ShouldAllBe(r => r.Tasks!.Awarded == 0 && r.Conserved);
        var treasury = await TransfersAsync(run.Ledger, AccountIds.Treasury);
        var returns = treasury.Where(t => t.Kind == TransferKind.TaskReturn).ToList();
        returns.Select(t => t.Id).Order(StringComparer.Ordinal).ShouldBe([TaskTransfers.Return("sim-c1-t0"), TaskTransfers.Return("sim-c2-t0"), TaskTransfers.Return("sim-c3-t0")]);
        returns.ShouldAllBe(t => t.Amount == 40 && t.CreditAccountId == AccountIds.Treasury);
        // The three later tasks still hold their rewards in escrow, pending; nothing was paid to an agent.
        var escrows = treasury.Where(t => t.Kind == TransferKind.TaskEscrow && t.Id.EndsWith(":escrow")).ToList();
        escrows.Count.ShouldBe(6);
        escrows.Count(t => t.State == TransferState.Pending).ShouldBe(3);
        run.Agents.ShouldAllBe(a => a.TaskEarnings == 0);
    }

    [Theory]
    [InlineData(300, true)]
    [InlineData(299, false)]
    public async Task A_reviewed_submission_needs_the_attention_its_prompt_costs(long attentionWon, bool paid)
    {
        // A 1,500-character review prompt costs 100 + 2 x 100 = 300 basis points (PromptAttention.Default).
        var variant = Variant($$"""{ "group": "reviewed", "value": 10, "demand": { "cpu": 100, "attention": {{attentionWon}} }, "skill": 1 }""",
            """{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 30 }, "review_share": 1, "review_characters": 1500 }""",
            agents: 1);
        var run = await RunCyclesAsync(variant, cycles: 5);
        var agent = run.Agents.ShouldHaveSingleItem();

        agent.TaskEarnings.ShouldBe(paid ? 5 * 30 : 0);
        var rewards = (await TransfersAsync(run.Ledger, agent.AccountId)).Count(t => t.Kind == TransferKind.TaskReward);
        rewards.ShouldBe(paid ? 5 : 0);
        // Its bid counted the reward only where the bundle could pay the review.
        run.LastInput!.Bids.ShouldHaveSingleItem().Amount.ShouldBe(paid ? 10 + 30 : 10);
    }

    [Fact]
    public async Task The_attention_limit_is_what_refuses_and_the_scenario_sets_its_price()
    {
        var tasks = """{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 30 }, "review_share": 1, "review_characters": 1500 }""";
        var agent = """{ "group": "reviewed", "value": 10, "demand": { "cpu": 100, "attention": 50 }, "skill": 1 }""";

        var refused = await RunCyclesAsync(Variant(agent, tasks, agents: 1), cycles: 3);
        refused.Agents[0].TaskEarnings.ShouldBe(0);
        var metrics = await refused.CycleAsync(ClearingMechanisms.Create("critical-value"), 4, CancellationToken.None);
        metrics.Tasks!.AttentionRefused.ShouldBe(1);
        metrics.Tasks.Attempts.ShouldBe(0);

        // At 10 bp a prompt and nothing per character, 50 bp pays the review.
        var cheap = await RunCyclesAsync(Variant(agent, tasks, """, "attention": { "per_prompt": 10, "per_thousand_characters": 0 }""", agents: 1), cycles: 3);
        cheap.Agents[0].TaskEarnings.ShouldBe(3 * 30);
    }

    [Theory]
    [InlineData("first-price")]
    [InlineData("critical-value")]
    [InlineData("posted-price")]
    [InlineData("lottery")]
    public async Task At_most_one_alternative_wins_per_agent_per_cycle(string mechanism)
    {
        var variant = ScenarioCatalog.Find("tasks")!.Plan(120)[0];
        var run = await SimulationRunner.SimulationRun.OpenAsync(variant, 30, seed: 3, CancellationToken.None);
        var clearing = ClearingMechanisms.Create(mechanism);
        var alternativeWins = 0;
        for (var cycle = 1; cycle <= 30; cycle++)
        {
            var row = await run.CycleAsync(clearing, cycle, CancellationToken.None);
            var bids = run.LastInput!.Bids;
            bids.GroupBy(b => b.AgentId).ShouldContain(g => g.Count() == 2, "agents bid two alternatives");
            run.LastStep!.Result.Winners.GroupBy(w => w.AgentId).ShouldAllBe(g => g.Count() == 1, $"cycle {cycle}");
            row.AlternativeBids.ShouldBe(bids.Count(b => b.Id.EndsWith(":x1")));
            alternativeWins += row.AlternativeWins!.Value;
            row.Conserved.ShouldBeTrue();
        }
        alternativeWins.ShouldBeGreaterThan(0, "the smaller bundle wins sometimes");
    }

    [Fact]
    public async Task The_tasks_scenario_gives_the_same_bytes_for_the_same_seed()
    {
        async Task<string> HashAsync(string name)
        {
            var folder = Simulate.TempFolder(name);
            ReportWriter.Write(await Simulate.RunAsync("tasks", agents: 100, cycles: 20, seed: 11), folder);
            using var sha = SHA256.Create();
            foreach (var file in Directory.GetFiles(folder).Where(f => Path.GetFileName(f) != ReportWriter.TimingsFile).Order(StringComparer.Ordinal))
            {
                var bytes = File.ReadAllBytes(file);
                sha.TransformBlock(bytes, 0, bytes.Length, null, 0);
            }
            sha.TransformFinalBlock([], 0, 0);
            var csv = File.ReadAllLines(Path.Combine(folder, "cycles-open-critical-value.csv"));
            csv[0].ShouldEndWith(",tasks_posted,tasks_open,task_attempts,tasks_passed,tasks_awarded,task_rewards,tasks_expired,task_returns,attention_refused,attention_spent,passes_unpaid,alternative_bids,alternative_wins");
            return Convert.ToHexStringLower(sha.Hash!);
        }

        (await HashAsync("tasks-a")).ShouldBe(await HashAsync("tasks-b"));
    }

    [Fact]
    public async Task The_tasks_scenario_pays_rewards_and_critical_value_leaves_agents_more_than_first_price()
    {
        var result = await Simulate.RunAsync("tasks", agents: 120, cycles: 40, seed: 2026);

        result.Runs.Select(r => r.Label(true)).ShouldBe(["open/first-price", "open/critical-value", "open/posted-price", "open/lottery",
            "reserve/first-price", "reserve/critical-value", "reserve/posted-price", "reserve/lottery"]);
        result.KnownAnswersHold.ShouldBe(true);
        result.Findings.Where(f => f.Measure == "task rewards paid").Count().ShouldBe(8);
        var comparison = result.Findings.Where(f => f.Measure == "agents' net earnings per cycle, critical-value minus first-price").ToList();
        comparison.Select(f => f.Run).ShouldBe(["open", "reserve"]);
        comparison.ShouldAllBe(f => f.Holds == true && f.Observed > 0);
        foreach (var run in result.Runs)
        {
            var tasks = TaskSummary.From(run)!;
            tasks.RewardsPaid.ShouldBe(run.Agents.Sum(a => a.TaskEarnings));
            tasks.Posted.ShouldBe(40 * 6, "ceil(120 / 20) tasks a cycle");
            (tasks.Awarded + tasks.Expired + tasks.OpenAtEnd).ShouldBe(tasks.Posted);
            run.Cycles.ShouldContain(c => c.Revenue > 0);
        }
        // The report carries the findings like any scenario's.
        var html = HtmlReport.Render(result);
        html.ShouldContain("critical-value minus first-price");
        html.ShouldContain("task rewards paid per cycle");
    }

    [Theory]
    [InlineData("""{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 5 }, "review_share": 2 }""", "market.tasks.review_share: must be at least 0 and at most 1 (got 2)")]
    [InlineData("""{ "reward": { "distribution": "constant", "value": 5 } }""", "market.tasks.per_cycle: is required")]
    [InlineData("""{ "per_cycle": 1 }""", "market.tasks.reward: is required")]
    [InlineData("""{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 5 }, "deadline": 3 }""", "market.tasks.deadline: unknown field")]
    [InlineData("""{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 5 }, "deadline_cycles": 0 }""", "market.tasks.deadline_cycles: must be at least 1")]
    public void A_wrong_task_feed_is_refused_naming_the_field(string tasks, string message)
    {
        var error = Should.Throw<ScenarioFileException>(() =>
            Variant("""{ "group": "g", "value": 10, "demand": { "cpu": 100 } }""", tasks));
        error.Message.ShouldContain(message);
    }

    [Fact]
    public void Alternatives_and_skill_are_checked_where_they_are_read()
    {
        Should.Throw<ScenarioFileException>(() => Variant("""{ "group": "g", "value": 10, "demand": { "cpu": 100 }, "alternatives": 9 }""",
            """{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 5 } }""")).Message.ShouldContain("population.classes.list[0].alternatives: must be at least 1 and at most 8");
        Should.Throw<ScenarioFileException>(() => Variant("""{ "group": "g", "value": 10, "demand": { "cpu": 100 }, "skill": 1.5 }""",
            """{ "per_cycle": 1, "reward": { "distribution": "constant", "value": 5 } }""")).Message.ShouldContain("population.classes.list[0].skill: must be at least 0 and at most 1");
    }
}
