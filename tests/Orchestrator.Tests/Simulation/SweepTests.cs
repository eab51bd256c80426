using System.CommandLine;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Simulation.Scenarios;
using CyAgents.Orchestrator.Simulation.Sweeps;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>`cyagents sweep`: cells x seeds, confidence intervals, same bytes twice, resumable after a kill.</summary>
public class SweepTests
{
    // The acceptance sweep: 2 mechanisms x 3 supply ratios x 5 seeds, small enough for a test.
    private const string Config = """
        {
          "name": "mechanisms-by-supply",
          "scenario": "market",
          "agents": 60,
          "cycles": 12,
          "seeds": { "first": 1, "count": 5 },
          "grid": { "mechanism": ["critical-value", "first-price"], "market.supply_ratio": [0.4, 0.6, 0.8] }
        }
        """;

    private static SweepConfig Parse(string json = Config) => SweepConfig.Parse(json, "sweep.json", Path.GetTempPath());

    private static Dictionary<string, byte[]> Outputs(string folder) =>
        new[] { SweepRunner.CsvFile, SweepRunner.CellsFile, SweepRunner.ReportFile }
            .ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(folder, f)));

    [Fact]
    public async Task A_grid_of_2_mechanisms_x_3_supply_ratios_x_5_seeds_gives_intervals_per_cell_and_the_same_bytes_twice()
    {
        var config = Parse();
        config.Cells.Count.ShouldBe(6);
        config.Runs.Count.ShouldBe(30);
        var first = Simulate.TempFolder("sweep-a");
        var second = Simulate.TempFolder("sweep-b");

        var outcome = await SweepRunner.RunAsync(config, first, parallel: 2);
        await SweepRunner.RunAsync(Parse(), second, parallel: 1);

        outcome.Ran.ShouldBe(30);
        var a = Outputs(first);
        var b = Outputs(second);
        foreach (var file in a.Keys)
            b[file].ShouldBe(a[file], file);

        var csv = File.ReadAllLines(Path.Combine(first, SweepRunner.CsvFile));
        csv[0].ShouldStartWith("sweep,cell,param.mechanism,param.market.supply_ratio,seed,variant,mechanism,row,cycle,");
        csv.Skip(1).Count(l => l.Contains(",cycle,")).ShouldBe(30 * 12);
        csv.Count(l => l.Contains(",summary,")).ShouldBe(30);

        var cells = File.ReadAllLines(Path.Combine(first, SweepRunner.CellsFile));
        var welfare = cells.Where(l => l.Contains(",welfare,")).Select(l => l.Split(',')).ToList();
        welfare.Count.ShouldBe(6);
        foreach (var row in welfare)
        {
            row[^4].ShouldBe("5", "five seeds per cell");
            var (mean, low, high) = (double.Parse(row[^3]), double.Parse(row[^2]), double.Parse(row[^1]));
            low.ShouldBeLessThan(mean);
            high.ShouldBeGreaterThan(mean);
        }
        var html = File.ReadAllText(Path.Combine(first, SweepRunner.ReportFile));
        html.ShouldContain("mechanisms-by-supply");
        html.ShouldNotContain("__REPORT_DATA__");
        html.ShouldNotContain("src=\"http");
    }

    [Fact]
    public async Task A_sweep_killed_midway_finishes_only_the_missing_runs_and_ends_with_the_same_bytes()
    {
        var whole = Simulate.TempFolder("sweep-whole");
        await SweepRunner.RunAsync(Parse(), whole, parallel: 2);

        var killed = Simulate.TempFolder("sweep-killed");
        using var kill = new CancellationTokenSource();
        var finished = 0;
        await Should.ThrowAsync<OperationCanceledException>(() => SweepRunner.RunAsync(Parse(), killed, parallel: 2, (done, _) =>
        {
            finished = done;
            if (done >= 11)
                kill.Cancel();
        }, kill.Token));
        var left = Directory.GetFiles(Path.Combine(killed, SweepRunner.RunsFolder), "*.csv").Length;
        left.ShouldBeInRange(11, 29, "some runs finished, not all");

        var resumed = await SweepRunner.RunAsync(Parse(), killed, parallel: 2);

        resumed.Skipped.ShouldBe(left);
        resumed.Ran.ShouldBe(30 - left);
        var a = Outputs(whole);
        var b = Outputs(killed);
        foreach (var file in a.Keys)
            b[file].ShouldBe(a[file], file);
    }

    [Fact]
    public void One_seed_gives_a_mean_without_an_interval_and_the_interval_is_the_t_interval()
    {
        SweepStatistics.Interval("x", [3.0]).ShouldBe(new CellMeasure("x", 1, 3, null, null));
        // mean 2, s = 1, n = 3: half-width t(0.975, 2) * 1 / sqrt(3) = 4.302653 / 1.732051 = 2.484138
        var m = SweepStatistics.Interval("x", [1.0, 2.0, 3.0]);
        m.Mean.ShouldBe(2);
        m.Low!.Value.ShouldBe(2 - 2.484138, 1e-6);
        m.High!.Value.ShouldBe(2 + 2.484138, 1e-6);
    }

    [Fact]
    public void A_list_of_cells_sweeps_strategy_mix_income_and_pricing()
    {
        var config = Parse("""
            {"name": "mixes", "scenario": "market", "agents": 40, "cycles": 5, "seeds": [7, 8],
             "cells": [
               {"population.generated.strategy_mix": [{"strategy": "truthful", "weight": 1}], "market.pricing.eta": 0.1},
               {"population.generated.income_rate": 0.1, "market.initial_prices": "zero", "agents": 50}
             ]}
            """);
        config.Cells.Count.ShouldBe(2);
        config.Runs.Select(r => r.Seed).ShouldBe([7, 8, 7, 8]);
        config.Cells[1].Agents.ShouldBe(50);
        config.Cells[0].Scenario.Plan(40)[0].Settings.Pricing.Eta.ShouldBe(0.1);
        config.Cells[0].Scenario.Plan(40)[0].Settings.Populate(40, 1).ShouldAllBe(a => a.Strategy.Name == "truthful");
        config.Runs.Select(r => r.Key).Distinct().Count().ShouldBe(4);
    }

    [Fact]
    public void The_task_feed_alternatives_and_skill_are_sweepable_by_their_paths()
    {
        var config = Parse("""
            {"name": "review", "scenario": "tasks", "agents": 40, "cycles": 5, "seeds": [1],
             "grid": {"market.tasks.review_share": [0, 1], "population.generated.alternatives": [1, 3],
                      "population.generated.skill": [{"distribution": "constant", "value": 1}]}}
            """);
        config.Cells.Count.ShouldBe(4);
        var last = config.Cells[3].Scenario.Plan(40);
        last.Select(v => v.Name).ShouldBe(["open", "reserve"], "the scenario's variants stay");
        last.ShouldAllBe(v => v.Settings.Tasks!.ReviewShare == 1 && v.Settings.Tasks.PerCycle == 2);
        last[0].Settings.Populate(40, 1).ShouldAllBe(a => a.Alternatives == 3 && a.Skill == 1);
        config.Cells[0].Scenario.Plan(40)[0].Settings.Tasks!.ReviewShare.ShouldBe(0);
    }

    [Theory]
    [InlineData("""{"name": "x", "scenario": "market", "seeds": [1], "grid": {"market.supply_ratio": [-1]}}""", "market.supply_ratio: must be above 0")]
    [InlineData("""{"name": "x", "scenario": "market", "seeds": [1], "grid": {"mechanism": ["dutch"]}}""", "unknown mechanism \"dutch\"")]
    [InlineData("""{"name": "x", "scenario": "market", "seeds": [1], "grid": {"colour": [1]}}""", "grid.colour: unknown parameter")]
    [InlineData("""{"name": "x", "scenario": "nope", "seeds": [1]}""", "unknown scenario 'nope'")]
    [InlineData("""{"name": "x", "scenario": "market"}""", "seeds: is required")]
    [InlineData("""{"name": "x", "scenario": "market", "seeds": [1, 1]}""", "seeds: must list at least one seed, each once")]
    [InlineData("""{"name": "x", "scenario": "market", "seeds": [1], "grid": {}, "cells": []}""", "give a grid or a list of cells, not both")]
    [InlineData("""{"name": "x", "scenario": "market", "seeds": [1], "gird": {}}""", "gird: unknown field")]
    public void A_wrong_config_is_refused_with_one_line(string json, string message)
    {
        var error = Should.Throw<ScenarioFileException>(() => Parse(json));
        error.Message.ShouldStartWith("sweep config ");
        error.Message.ShouldContain(message);
        error.Message.ShouldNotContain("\n");
    }

    [Fact]
    public async Task The_command_has_help_with_an_example_config_and_refuses_a_missing_file_in_one_line()
    {
        var root = new RootCommand("test") { SweepCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        (await root.Parse(["sweep", "--help"]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error })).ShouldBe(0);
        output.ToString().ShouldContain("\"market.supply_ratio\": [0.4, 0.6, 0.8]");
        Parse(SweepCommand.ExampleConfig).Runs.Count.ShouldBe(30, "the example in --help is a valid config");

        output = new StringWriter();
        (await root.Parse(["sweep", "--config", "/nonexistent/sweep.json"]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }))
            .ShouldBe(ExitCodes.Usage);
        error.ToString().Trim().ShouldBe("cyagents sweep: sweep config /nonexistent/sweep.json: not found");
    }
}
