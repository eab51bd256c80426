using System.CommandLine;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Simulation;
using CyAgents.Orchestrator.Simulation.Report;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>Scenarios as JSON files: the built-in ones are files, a new one needs no rebuild, a wrong one gets one line.</summary>
public class ScenarioFileTests
{
    private static async Task<(int Exit, string Out, string Error)> InvokeAsync(params string[] args)
    {
        var root = new RootCommand("test") { SimulateCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await root.Parse(["simulate", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    private static string SourceFolder([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../../src/Orchestrator/Simulation/Scenarios/Files"));

    [Fact]
    public void Every_built_in_scenario_is_a_file_in_the_source_tree_and_the_embedded_copy_is_that_file()
    {
        var files = Directory.GetFiles(SourceFolder(), "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!).Order().ToList();
        files.ShouldBe(ScenarioCatalog.BuiltInNames.Order().ToList());
        foreach (var name in ScenarioCatalog.BuiltInNames)
        {
            ScenarioCatalog.TextOf(name).ShouldBe(File.ReadAllText(Path.Combine(SourceFolder(), name + ".json")));
            ScenarioCatalog.Find(name)!.Name.ShouldBe(name);
        }
    }

    [Fact]
    public async Task A_printed_built_in_scenario_run_from_a_file_gives_the_same_bytes_as_the_built_in()
    {
        var (printExit, json, _) = await InvokeAsync("--print-scenario", "demand-shock");
        printExit.ShouldBe(0);
        var path = Path.Combine(Simulate.TempFolder("print"), "shock.json");
        File.WriteAllText(path, json);

        var fromFile = Simulate.TempFolder("from-file");
        var builtIn = Simulate.TempFolder("built-in");
        (await InvokeAsync("--scenario-file", path, "--agents", "60", "--cycles", "12", "--seed", "4", "--out", fromFile)).Exit.ShouldBe(0);
        (await InvokeAsync("--scenario", "demand-shock", "--agents", "60", "--cycles", "12", "--seed", "4", "--out", builtIn)).Exit.ShouldBe(0);

        File.Exists(Path.Combine(fromFile, "scenario.json")).ShouldBeTrue("the file is copied beside its outputs");
        foreach (var file in Directory.GetFiles(builtIn).Select(Path.GetFileName).Where(f => f != ReportWriter.TimingsFile))
            File.ReadAllBytes(Path.Combine(fromFile, file!)).ShouldBe(File.ReadAllBytes(Path.Combine(builtIn, file!)), file);
    }

    [Fact]
    public async Task A_new_scenario_file_changes_the_population_without_a_rebuild()
    {
        const string json = """
        {
          "name": "rich-truthful",
          "summary": "only truthful bidders, ten times the usual endowment, supply at 30% of demand, a late demand spike",
          "defaults": { "agents": 80, "cycles": 20, "mechanisms": ["critical-value"] },
          "population": {
            "generated": {
              "strategy_mix": [{ "strategy": "truthful", "weight": 1 }],
              "endowment": { "distribution": "constant", "value": 5000 },
              "task_value": { "distribution": "uniform", "min": 10, "max": 30 },
              "demand": { "cpu": { "draw": { "distribution": "constant", "value": 1000 }, "step": 1000, "min": 1000, "max": 1000 } }
            }
          },
          "market": { "supply_ratio": 0.3, "shocks": [{ "from_cycle": "c - 4", "to_cycle": "c", "demand_multiplier": 3 }] }
        }
        """;
        var scenario = ScenarioFile.Parse(json, "rich.json");
        var result = await Experiment.RunAsync(new ExperimentOptions(scenario, 80, 20, scenario.DefaultMechanisms, 5));

        var run = result.Runs.ShouldHaveSingleItem();
        run.Agents.ShouldAllBe(a => a.Strategy.Name == "truthful" && a.Endowment == 5000 && a.Demand.CpuMillicores == 1000);
        var calm = run.Cycles.Take(15).Average(c => c.DemandRatio[0]);
        var shocked = run.Cycles.Skip(15).Average(c => c.DemandRatio[0]);
        var settings = scenario.Plan(80).ShouldHaveSingleItem().Settings;
        settings.DemandMultiplier(15, 20).ShouldBe(1);
        settings.DemandMultiplier(16, 20).ShouldBe(3);
        settings.DemandMultiplier(20, 20).ShouldBe(3);
        // Tripled arrivals meet a rising price, so bids for CPU grow by less than three times, but clearly.
        shocked.ShouldBeGreaterThan(calm * 1.2, $"cpu demand ratio {calm:F2} before the shock, {shocked:F2} during");
        run.Cycles.ShouldAllBe(c => c.Conserved);
    }

    [Theory]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {}}, "markt": {}}""",
        "bad.json: markt: unknown field")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["dutch"]}, "population": {"generated": {}}}""",
        "defaults.mechanisms: unknown mechanism 'dutch'")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {"strategy_mix": [{"strategy": "greedy", "weight": 1}]}}}""",
        "population.generated.strategy_mix[0].strategy: unknown strategy 'greedy'")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {"endowment": {"distribution": "pareto", "scale": 200, "shape": -1}}}}""",
        "population.generated.endowment.shape: must be above 0")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {"income_rate": "high"}}}""",
        "population.generated.income_rate: must be a number (got a string)")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {}}, "market": {"supply": {"cpu": "sqrt(n"}}}""",
        "market.supply.cpu: expected ')'")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {}}, "market": {"supply": {"cpu": "c * 2"}}}""",
        "unknown variable 'c'")]
    [InlineData("""{"name": "x", "name": "y", "summary": "s"}""", "name: appears twice")]
    [InlineData("""{"summary": "s"}""", "name: is required")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {}}""",
        "population: needs exactly one of generated")]
    [InlineData("""{"name": "x", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {}}, "variants": [{"name": "a", "market": {"spawn": {"cycle": 0, "children": 1}}}]}""",
        "variants[0].market.spawn.cycle: must be at least 1")]
    [InlineData("""{"name": "x", "summary": "s", "evaluation": "magic", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]}, "population": {"generated": {}}}""",
        "evaluation: unknown evaluation 'magic'")]
    [InlineData("""{"name": "x", """, "not valid JSON")]
    public void A_wrong_scenario_file_is_refused_with_one_line_naming_the_field(string json, string message)
    {
        var error = Should.Throw<ScenarioFileException>(() => ScenarioFile.Parse(json, "bad.json"));

        error.Message.ShouldStartWith("scenario file bad.json: ");
        error.Message.ShouldContain(message);
        error.Message.ShouldNotContain("\n");
    }

    [Theory]
    [InlineData("give either --scenario or --scenario-file", "--scenario", "market", "--scenario-file", "x.json")]
    [InlineData("not found", "--scenario-file", "/nonexistent/scenario.json")]
    [InlineData("unknown scenario 'nope'", "--print-scenario", "nope")]
    public async Task Bad_scenario_arguments_get_one_line_and_a_non_zero_exit(string message, params string[] args)
    {
        var folder = Simulate.TempFolder("bad-file");
        var (exit, output, error) = await InvokeAsync([.. args, "--out", folder]);

        exit.ShouldNotBe(0);
        error.Split('\n', StringSplitOptions.RemoveEmptyEntries).ShouldHaveSingleItem().ShouldContain(message);
        output.ShouldBeEmpty();
        Directory.GetFiles(folder).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_formula_that_is_no_whole_number_at_the_chosen_size_is_refused_before_anything_is_written()
    {
        var path = Path.Combine(Simulate.TempFolder("formula"), "half.json");
        File.WriteAllText(path, """
        {"name": "half", "summary": "s", "defaults": {"agents": 10, "cycles": 5, "mechanisms": ["lottery"]},
         "population": {"generated": {}}, "market": {"supply": {"cpu": "n / 4", "memory": 1000, "tokens": 1000, "attention": 1000}}}
        """);
        var folder = Simulate.TempFolder("formula-out");
        var (exit, _, error) = await InvokeAsync("--scenario-file", path, "--agents", "10", "--out", folder);

        exit.ShouldNotBe(0);
        error.Trim().ShouldContain("market.supply.cpu is 2.5 for n = 10");
        Directory.GetFiles(folder).ShouldBeEmpty();
    }

    [Fact]
    public async Task Market_reserve_posted_makes_critical_value_earn_more_and_a_bad_reserve_is_refused()
    {
        static string Scenario(string reserve) => $$"""
        {
          "name": "reserve",
          "summary": "supply above demand: critical-value winners are uncontested",
          "defaults": { "agents": 60, "cycles": 10, "mechanisms": ["critical-value"] },
          "population": { "generated": {} },
          "market": { "supply_ratio": 3, "reserve": {{reserve}} }
        }
        """;
        async Task<long> Revenue(string reserve)
        {
            var scenario = ScenarioFile.Parse(Scenario(reserve), "reserve.json");
            var result = await Experiment.RunAsync(new ExperimentOptions(scenario, 60, 10, scenario.DefaultMechanisms, 3));
            return result.Runs.ShouldHaveSingleItem().Cycles.Sum(c => c.Revenue);
        }
        var none = await Revenue("\"none\"");
        var posted = await Revenue("\"posted\"");
        var fixedPrices = await Revenue("""{ "cpu": 0.005 }""");
        posted.ShouldBeGreaterThan(none);
        fixedPrices.ShouldBeGreaterThan(none);

        var error = Should.Throw<ScenarioFileException>(() => ScenarioFile.Parse(Scenario("\"high\""), "bad.json"));
        error.Message.ShouldContain("market.reserve");
        Should.Throw<ScenarioFileException>(() => ScenarioFile.Parse(Scenario("""{ "cpu": -1 }"""), "bad.json")).Message.ShouldContain("market.reserve.cpu");
    }
}
