using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using CyAgents.Economy.Clearing;
using CyAgents.Orchestrator.Simulation;
using CyAgents.Orchestrator.Simulation.Report;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Scenarios;
using CyAgents.Orchestrator.Simulation.Strategies;
using Spectre.Console;

namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// The `simulate` verb: runs a scenario's synthetic population through the real Economy code (in-memory ledger,
/// clearing mechanisms, pricing rule) under one or more mechanisms and writes CSV, JSON and an HTML report.
/// </summary>
public static class SimulateCommand
{
    public const int MaxAgents = 1_000_000;
    public const int MaxCycles = 1_000_000;
    private const string Prefix = "cyagents simulate: ";

    public static Command Create()
    {
        var scenario = new Option<string>("--scenario")
        {
            Description = "Scenario to run (see the list above).",
            HelpName = "NAME",
            DefaultValueFactory = _ => "market",
        };
        var scenarioFile = new Option<string?>("--scenario-file")
        {
            Description = "Run the scenario in this JSON file instead of a built-in one (format: docs/simulator.md; start from "
                          + "--print-scenario market). A new scenario needs no rebuild. Copied to the output folder as scenario.json.",
            HelpName = "FILE",
        };
        var printScenario = new Option<string?>("--print-scenario")
        {
            Description = "Print the scenario file of a built-in scenario to stdout and exit (a starting point for --scenario-file).",
            HelpName = "NAME",
        };
        var agents = CountOption("--agents", "N", "Agents before any spawning. Default: the scenario's (see above).", MaxAgents);
        var cycles = CountOption("--cycles", "C", "Allocation cycles per run. Default: the scenario's.", MaxCycles);
        var mechanism = new Option<string?>("--mechanism")
        {
            Description = "Clearing mechanism(s), comma-separated; each runs on the same population and seed, side by side. "
                          + $"Known: {string.Join(", ", ClearingMechanisms.Names)}. Default: the scenario's.",
            HelpName = "M[,M2,...]",
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of every random draw; the same seed gives byte-identical CSV, JSON and HTML.",
            HelpName = "S",
            DefaultValueFactory = _ => 42,
            CustomParser = r => ParseInt(r, "--seed", int.MinValue, int.MaxValue),
        };
        var output = new Option<string?>("--out")
        {
            Description = "Output folder for cycles-*.csv, summary.json, report.html and timings.json "
                          + "(default: sim-out/<scenario>). '-' writes the CSV of every run to stdout instead, nothing else.",
            HelpName = "DIR",
        };
        var bench = new Option<bool>("--bench")
        {
            Description = "Benchmark: write no files; print wall time, agent-cycles per second and peak working set.",
        };
        var agentOutput = new Option<bool>("--agent-output")
        {
            Description = "Also write agents-<run>.csv.gz per run: one row per agent and cycle (cycle, agent, balance, bid, won, "
                          + "payment), gzip CSV for pandas.read_csv; about 5.4 bytes per row (54 MB for 100,000 agents x 100 cycles).",
        };
        var repeat = CountOption("--repeat", "R", "With --bench: run the experiment R times and report the median wall time.", 100);

        var command = new Command("simulate", Description())
        {
            scenario, scenarioFile, printScenario, agents, cycles, mechanism, seed, output, bench, repeat, agentOutput,
        };
        command.Action = new SimulateAction(parse => RunAsync(parse, new ScenarioOptions(scenario, scenarioFile, printScenario, agentOutput),
            agents, cycles, mechanism, seed, output, bench, repeat));
        return command;
    }

    private static string Description()
    {
        var lines = new List<string>
        {
            "Simulates thousands of synthetic agents on the real economy (ledger, clearing, pricing) without Docker or HTTP.",
            "Each cycle: agents earn income, bid (escrowed as pending transfers), the mechanism clears, the escrows settle",
            "all or nothing, prices move with excess demand, metrics are recorded and the ledger's conservation is checked.",
            "",
            "Scenarios (default agents x cycles, default mechanisms):",
        };
        foreach (var s in ScenarioCatalog.All)
        {
            lines.Add($"  {s.Name,-13} {s.Summary}");
            lines.Add($"  {"",-13} known answer: {s.KnownAnswer}");
            lines.Add($"  {"",-13} default: {s.DefaultAgents} agents x {s.DefaultCycles} cycles, {string.Join(",", s.DefaultMechanisms)}");
        }
        lines.Add("");
        lines.Add("Mechanisms: " + string.Join(", ", ClearingMechanisms.Names) + $" (optimal and vcg: at most {OptimalMechanism.MaxBids} bids per cycle).");
        lines.Add("Strategies: " + string.Join(", ", BiddingStrategy.All.Select(s => s.Name)) + ".");
        lines.Add("Agents that learn: cyagents simulate --scenario-file docs/examples/learning.json (hedge beside truthful agents).");
        lines.Add("");
        lines.Add("Example: cyagents simulate --scenario demand-shock --agents 500 --cycles 300 --mechanism critical-value,posted-price --seed 7 --out sim-out/shock");
        lines.Add("Your own scenario: cyagents simulate --print-scenario market > my.json; edit my.json; cyagents simulate --scenario-file my.json");
        return string.Join("\n", lines);
    }

    private static Option<int?> CountOption(string name, string helpName, string description, int max) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => ParseInt(r, name, 1, max),
    };

    private static int ParseInt(ArgumentResult result, string name, int min, int max)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            result.AddError(min == int.MinValue
                ? $"{name} must be a whole number (got '{text}')"
                : $"{name} must be a whole number from {min} to {max:N0} (got '{text}')");
            return 0;
        }
        return value;
    }

    /// <summary>The three ways of naming a scenario.</summary>
    private sealed record ScenarioOptions(Option<string> Name, Option<string?> File, Option<string?> Print, Option<bool> AgentOutput);

    private static async Task<int> RunAsync(ParseResult parse, ScenarioOptions scenarioOptions, Option<int?> agentsOption,
        Option<int?> cyclesOption, Option<string?> mechanismOption, Option<int> seedOption, Option<string?> outputOption,
        Option<bool> benchOption, Option<int?> repeatOption)
    {
        var stdout = parse.InvocationConfiguration.Output;
        var stderr = parse.InvocationConfiguration.Error;
        if (parse.Errors.Count > 0)
            return Fail(stderr, parse.Errors[0].Message);
        if (parse.UnmatchedTokens.Count > 0)
            return Fail(stderr, $"unexpected argument '{parse.UnmatchedTokens[0]}' (see --help)");

        var scenarioOption = scenarioOptions.Name;
        if (parse.GetValue(scenarioOptions.Print) is { } print)
        {
            if (ScenarioCatalog.TextOf(print) is not { } text)
                return Fail(stderr, $"unknown scenario '{print}'; known scenarios: {string.Join(", ", ScenarioCatalog.BuiltInNames)}");
            stdout.Write(text);
            return ExitCodes.Ok;
        }
        var scenarioPath = parse.GetValue(scenarioOptions.File);
        if (scenarioPath is not null && parse.GetResult(scenarioOption) is { Implicit: false })
            return Fail(stderr, "give either --scenario or --scenario-file, not both");
        Scenario? scenario;
        try
        {
            scenario = scenarioPath is not null ? ScenarioFile.Load(scenarioPath) : ScenarioCatalog.Find(parse.GetValue(scenarioOption));
        }
        catch (ScenarioFileException e)
        {
            return Fail(stderr, e.Message);
        }
        if (scenario is null)
            return Fail(stderr, $"unknown scenario '{parse.GetValue(scenarioOption)}'; known scenarios: {string.Join(", ", ScenarioCatalog.All.Select(s => s.Name))}");
        var agents = parse.GetValue(agentsOption) ?? scenario.DefaultAgents;
        if (agents < scenario.MinimumAgents)
            return Fail(stderr, $"scenario {scenario.Name} needs at least {scenario.MinimumAgents} agents (got {agents})");
        var cycles = parse.GetValue(cyclesOption) ?? scenario.DefaultCycles;
        var mechanisms = scenario.DefaultMechanisms;
        if (parse.GetValue(mechanismOption) is { } list)
        {
            var names = list.Split(',', StringSplitOptions.TrimEntries);
            var unknown = names.FirstOrDefault(n => !ClearingMechanisms.Names.Contains(n.ToLowerInvariant()));
            if (unknown is not null)
                return Fail(stderr, $"unknown mechanism '{unknown}'; known mechanisms: {string.Join(", ", ClearingMechanisms.Names)}");
            mechanisms = names.Select(n => n.ToLowerInvariant()).ToArray();
            var duplicate = mechanisms.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                return Fail(stderr, $"mechanism '{duplicate.Key}' is listed twice");
        }
        var bench = parse.GetValue(benchOption);
        var repeat = parse.GetValue(repeatOption) ?? 1;
        if (repeat > 1 && !bench)
            return Fail(stderr, "--repeat only applies with --bench");
        var output = parse.GetValue(outputOption);
        var toStdout = output == "-";
        if (bench && output is not null)
            return Fail(stderr, "--bench writes no files; leave out --out");
        output ??= Path.Combine("sim-out", scenario.Name);
        if (!toStdout && !bench && File.Exists(output))
            return Fail(stderr, $"--out '{output}' is a file; give a folder");

        var withAgents = parse.GetValue(scenarioOptions.AgentOutput);
        if (withAgents && (toStdout || bench))
            return Fail(stderr, "--agent-output writes files; it does not combine with --out - or --bench");
        var options = new ExperimentOptions(scenario, agents, cycles, mechanisms, parse.GetValue(seedOption))
        {
            AgentOutputFolder = withAgents ? output : null,
        };
        if (withAgents)
            Directory.CreateDirectory(output);
        // The table goes where it cannot mix with data: stderr when the CSV is on stdout.
        var tableConsole = Terminal(toStdout ? stderr : stdout, toStdout ? Console.IsErrorRedirected : Console.IsOutputRedirected);
        var showProgress = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
        try
        {
            var walls = new List<double>();
            ExperimentResult? result = null;
            for (var r = 0; r < repeat; r++)
            {
                result = await RunExperimentAsync(options, showProgress ? Terminal(stderr, false) : null);
                walls.Add(result.Runs.Sum(x => x.Timing.Elapsed.TotalSeconds));
            }
            if (toStdout)
                CycleCsv.Write(stdout, result!.Runs);
            PrintSummary(tableConsole, result!);
            if (bench)
                PrintBench(tableConsole, result!, walls);
            else if (!toStdout)
            {
                var files = ReportWriter.Write(result!, output);
                if (scenarioPath is not null)
                {
                    // Provenance: the folder says which population produced it, even after the file is edited.
                    File.Copy(scenarioPath, Path.Combine(output, "scenario.json"), overwrite: true);
                    files = [.. files, Path.Combine(output, "scenario.json")];
                }
                tableConsole.MarkupLine($"Wrote {files.Count} files to [bold]{Markup.Escape(Path.GetFullPath(output))}[/] "
                                        + $"(open {Markup.Escape(ReportWriter.ReportFile)} in a browser).");
            }
            return ExitCodes.Ok;
        }
        catch (ClearingInputException e)
        {
            // The exact optimum refuses large instances; say so instead of failing half-way through a report.
            return Fail(stderr, $"{e.Message} (scenario {scenario.Name} with {agents} agents has more bidders per cycle)");
        }
        catch (ScenarioFileException e)
        {
            // A formula that only fails at this size (e.g. a supply that evaluates to a fraction).
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

    private static async Task<ExperimentResult> RunExperimentAsync(ExperimentOptions options, IAnsiConsole? progressConsole)
    {
        if (progressConsole is null)
            return await Experiment.RunAsync(options);
        ExperimentResult? result = null;
        await progressConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<int, ProgressTask>();
                result = await Experiment.RunAsync(options, p =>
                {
                    if (!tasks.TryGetValue(p.Run, out var task))
                        tasks[p.Run] = task = context.AddTask(Markup.Escape(p.Label), maxValue: p.Cycles);
                    // Updating every cycle of a 100k-agent run is cheap; of a 10k-cycle run, thin it.
                    if (p.Cycle == p.Cycles || p.Cycle % Math.Max(1, p.Cycles / 200) == 0)
                        task.Value = p.Cycle;
                });
            });
        return result!;
    }

    private static void PrintSummary(IAnsiConsole console, ExperimentResult result)
    {
        var o = result.Options;
        console.MarkupLine($"[bold]{Markup.Escape(o.Scenario.Name)}[/]: {o.Agents} agents x {o.Cycles} cycles, seed {o.Seed}");
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("run", "agents", "mean welfare", "efficiency", "revenue", "final Gini", "mean Jain", "longest starvation",
                "bankrupt", "conserved", "wall s", "agent-cycles/s");
        foreach (var run in result.Runs)
        {
            var s = RunSummary.From(run, result.ManyVariants);
            table.AddRow(Markup.Escape(s.Label), N(s.AgentsAtEnd), N(s.MeanWelfare, "0.0"),
                s.MeanEfficiency is { } e ? N(e, "0.000") + Markup.Escape($" ({s.EfficiencyAgainst})") : "-", N(s.TotalRevenue), N(s.FinalGini, "0.000"), N(s.MeanJain, "0.000"),
                N(s.LongestStarvation), N(s.FinalBankrupt), s.ConservedEveryCycle ? "[green]yes[/]" : "[red]NO[/]",
                N(run.Timing.Elapsed.TotalSeconds, "0.00"), N(run.Timing.AgentCyclesPerSecond, "#,0"));
        }
        console.Write(table);
        if (result.Findings.Count > 0)
        {
            var findings = new Table().Border(TableBorder.Rounded).AddColumns("run", "measure", "observed", "expected", "verdict");
            foreach (var f in result.Findings)
            {
                findings.AddRow(Markup.Escape(f.Run), Markup.Escape(f.Measure), double.IsFinite(f.Observed) ? N(f.Observed, "0.####") : "-",
                    Markup.Escape(f.Expected), f.Holds switch { true => "[green]holds[/]", false => "[red]does not hold[/]", _ => "" });
            }
            console.Write(findings);
        }
    }

    private static void PrintBench(IAnsiConsole console, ExperimentResult result, List<double> walls)
    {
        walls.Sort();
        var median = walls[walls.Count / 2];
        var agentCycles = result.Runs.Sum(r => r.Timing.AgentCycles);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench: {result.Options.Scenario.Name} {result.Options.Agents} agents x {result.Options.Cycles} cycles, "
            + $"{string.Join(",", result.Options.Mechanisms)}: median wall {median:0.00} s over {walls.Count} run(s) "
            + $"[{string.Join(", ", walls.Select(w => w.ToString("0.00", CultureInfo.InvariantCulture)))}], "
            + $"{agentCycles / median:#,0} agent-cycles/s, peak working set {ReportWriter.PeakWorkingSetMiB():0} MiB"));
    }

    private static IAnsiConsole Terminal(TextWriter writer, bool redirected)
    {
        var plain = redirected || writer is StringWriter;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = plain ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = plain ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = plain ? InteractionSupport.No : InteractionSupport.Detect,
        });
        // Without a terminal Spectre assumes 80 columns and folds the tables; a log file can be wide.
        if (plain)
            console.Profile.Width = 200;
        return console;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine(Prefix + message);
        return ExitCodes.Usage;
    }

    private static string N(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
    private static string N(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    /// <summary>Runs even when parsing failed, so every bad argument gets the verb's one-line error, not a help page.</summary>
    private sealed class SimulateAction(Func<ParseResult, Task<int>> run) : AsynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default) => run(parseResult);
    }
}
