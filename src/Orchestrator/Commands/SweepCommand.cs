using System.CommandLine;
using System.CommandLine.Invocation;
using System.Globalization;
using CyAgents.Economy.Clearing;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Scenarios;
using CyAgents.Orchestrator.Simulation.Strategies;
using CyAgents.Orchestrator.Simulation.Sweeps;
using Spectre.Console;

namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// The `sweep` verb: a grid or list of simulator settings x seeds, run in parallel and resumably, summarised as one
/// tidy CSV, means with 95% confidence intervals per cell, and an HTML report comparing the cells.
/// </summary>
public static class SweepCommand
{
    private const string Prefix = "cyagents sweep: ";

    public const string ExampleConfig = """
        {
          "name": "mechanisms-by-supply",
          "scenario": "market",
          "agents": 200,
          "cycles": 40,
          "seeds": { "first": 1, "count": 5 },
          "grid": {
            "mechanism": ["critical-value", "first-price"],
            "market.supply_ratio": [0.4, 0.6, 0.8]
          }
        }
        """;

    public static Command Create()
    {
        var config = new Option<string>("--config")
        {
            Description = "The sweep config (JSON; example below, format in docs/simulator.md).",
            HelpName = "FILE",
            Required = true,
        };
        var output = new Option<string?>("--out")
        {
            Description = "Output folder (default: sweep-out/<name>). Rerunning into the same folder skips every finished run.",
            HelpName = "DIR",
        };
        var parallel = new Option<int?>("--parallel")
        {
            Description = $"Runs at once (default: the machine's cores, {Environment.ProcessorCount} here).",
            HelpName = "N",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 256)
                    return n;
                r.AddError($"--parallel must be a whole number from 1 to 256 (got '{text}')");
                return null;
            },
        };
        var command = new Command("sweep", Description()) { config, output, parallel };
        command.Action = new SweepAction(parse => RunAsync(parse, config, output, parallel));
        return command;
    }

    private static string Description() => string.Join("\n",
    [
        "Runs a simulator sweep: every cell of a grid (or list) of settings under every seed, in parallel on the",
        "machine's cores. Parameters: mechanism, agents, cycles, or any scenario-file field by its path",
        "(market.supply_ratio, population.generated.income_rate, population.generated.strategy_mix,",
        "market.pricing.eta, market.initial_prices, ...). A grid runs every combination; \"cells\": [{...}, ...]",
        "lists them instead. Seeds: [1, 2, 3] or { \"first\": 1, \"count\": 5 }.",
        "Mechanisms: " + string.Join(", ", ClearingMechanisms.Names) + $" (optimal and vcg: at most {OptimalMechanism.MaxBids} bids per cycle).",
        "Strategies (in strategy_mix): " + string.Join(", ", BiddingStrategy.All.Select(s => s.Name)) + ".",
        "Measures per cell: " + string.Join(", ", SweepRunner.MeasureNames.Select(m => m.Name)) + ".",
        "A config comparing every mechanism with learning agents: docs/examples/mechanisms-sweep.json.",
        "",
        "Writes to the output folder: sweep.csv (a row per run, variant and cycle, and a summary row per run and",
        "variant), cells.csv (mean and 95% confidence interval per cell and measure), report.html (cells side by",
        "side) and runs/ (one file per finished run). Killed midway, rerun the same command: finished runs are",
        "skipped. The same config gives the same bytes.",
        "",
        "Example config (2 mechanisms x 3 supply ratios x 5 seeds = 30 runs):",
        ExampleConfig,
        "",
        "Example: cyagents sweep --config sweep.json --out sweep-out/supply",
    ]);

    private static async Task<int> RunAsync(ParseResult parse, Option<string> configOption, Option<string?> outputOption, Option<int?> parallelOption)
    {
        var stdout = parse.InvocationConfiguration.Output;
        var stderr = parse.InvocationConfiguration.Error;
        if (parse.Errors.Count > 0)
            return Fail(stderr, parse.Errors[0].Message);
        if (parse.UnmatchedTokens.Count > 0)
            return Fail(stderr, $"unexpected argument '{parse.UnmatchedTokens[0]}' (see --help)");
        SweepConfig config;
        try
        {
            config = SweepConfig.Load(parse.GetValue(configOption)!);
        }
        catch (ScenarioFileException e)
        {
            return Fail(stderr, e.Message);
        }
        var output = parse.GetValue(outputOption) ?? Path.Combine("sweep-out", config.Name);
        if (File.Exists(output))
            return Fail(stderr, $"--out '{output}' is a file; give a folder");
        var parallel = parse.GetValue(parallelOption) ?? Environment.ProcessorCount;
        var runs = config.Runs.Count;
        try
        {
            SweepOutcome outcome;
            if (ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected)
            {
                var bar = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr) });
                SweepOutcome? result = null;
                await bar.Progress().AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask(Markup.Escape($"{config.Name}: {runs} runs"), maxValue: runs);
                        result = await SweepRunner.RunAsync(config, output, parallel, (done, _) => task.Value = done);
                    });
                outcome = result!;
            }
            else
                outcome = await SweepRunner.RunAsync(config, output, parallel);
            stdout.WriteLine($"{config.Name}: {config.Cells.Count} cells x {config.Seeds.Count} seeds = {runs} runs "
                             + $"({outcome.Ran} run now, {outcome.Skipped} finished before); wrote {Path.GetFullPath(output)} "
                             + $"({string.Join(", ", outcome.Files.Select(Path.GetFileName))}).");
            return ExitCodes.Ok;
        }
        catch (ScenarioFileException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (Economy.Clearing.ClearingInputException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (SimulationInvariantException e)
        {
            stderr.WriteLine(Prefix + e.Message);
            return ExitCodes.LedgerBroken;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, $"cannot write to '{output}': {e.Message}");
        }
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine(Prefix + message);
        return ExitCodes.Usage;
    }

    private sealed class SweepAction(Func<ParseResult, Task<int>> run) : AsynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default) => run(parseResult);
    }
}
