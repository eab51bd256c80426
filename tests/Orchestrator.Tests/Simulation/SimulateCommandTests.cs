using System.CommandLine;
using CyAgents.Orchestrator.Commands;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>The `simulate` verb as a user meets it: help, errors, files.</summary>
public class SimulateCommandTests
{
    private static async Task<(int Exit, string Out, string Error)> InvokeAsync(params string[] args)
    {
        var root = new RootCommand("test") { SimulateCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await root.Parse(["simulate", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Help_lists_every_scenario_mechanism_and_strategy()
    {
        var (exit, output, _) = await InvokeAsync("--help");

        exit.ShouldBe(0);
        foreach (var name in new[] { "market", "boltzmann", "lottery-532", "los-tight", "demand-shock", "sybil", "scale", "tasks",
                     "first-price", "critical-value", "posted-price", "lottery", "optimal",
                     "truthful", "shading", "random", "budget-pacing", "zero-intelligence", "spawner",
                     "--agents", "--cycles", "--mechanism", "--seed", "--scenario", "--out", "--bench" })
            output.ShouldContain(name);
    }

    [Theory]
    [InlineData("unknown scenario 'nope'", "--scenario", "nope")]
    [InlineData("unknown mechanism 'dutch'", "--mechanism", "critical-value,dutch")]
    [InlineData("--agents must be a whole number", "--agents", "many")]
    [InlineData("--agents must be a whole number", "--agents", "0")]
    [InlineData("--cycles must be a whole number", "--cycles", "-3")]
    [InlineData("--seed must be a whole number", "--seed", "x1")]
    [InlineData("unexpected argument 'extra'", "extra")]
    [InlineData("needs at least 3 agents", "--scenario", "lottery-532", "--agents", "2")]
    [InlineData("listed twice", "--mechanism", "lottery,lottery")]
    [InlineData("optimal clears at most 40 bids", "--scenario", "market", "--agents", "500", "--cycles", "2", "--mechanism", "optimal")]
    public async Task Bad_arguments_get_one_line_and_a_non_zero_exit(string message, params string[] args)
    {
        var folder = Simulate.TempFolder("bad");
        var (exit, output, error) = await InvokeAsync([.. args, "--out", folder]);

        exit.ShouldNotBe(0);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.ShouldHaveSingleItem().ShouldStartWith("cyagents simulate: ");
        lines[0].ShouldContain(message);
        output.ShouldBeEmpty();
        Directory.GetFiles(folder).ShouldBeEmpty("a refused run writes nothing");
    }

    [Fact]
    public async Task A_run_writes_csv_per_mechanism_summary_and_report_and_prints_a_table()
    {
        var folder = Simulate.TempFolder("cli");
        var (exit, output, error) = await InvokeAsync("--scenario", "market", "--agents", "60", "--cycles", "15",
            "--mechanism", "critical-value,posted-price", "--seed", "3", "--out", folder);

        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        File.Exists(Path.Combine(folder, "cycles-critical-value.csv")).ShouldBeTrue();
        File.Exists(Path.Combine(folder, "cycles-posted-price.csv")).ShouldBeTrue();
        File.ReadAllText(Path.Combine(folder, "summary.json")).ShouldContain("\"scenario\": \"market\"");
        File.ReadAllText(Path.Combine(folder, "report.html")).ShouldContain("Chart.js v4.6.1");
        output.ShouldContain("critical-value");
        output.ShouldContain("posted-price");
        output.ShouldContain("Wrote 5 files");
    }

    [Fact]
    public async Task Out_dash_writes_only_csv_to_stdout_and_the_table_to_stderr()
    {
        var (exit, output, error) = await InvokeAsync("--scenario", "los-tight", "--agents", "5", "--cycles", "3",
            "--mechanism", "critical-value,optimal", "--out", "-");

        exit.ShouldBe(0);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(1 + 2 * 3);
        lines[0].ShouldStartWith("scenario,variant,mechanism,cycle,");
        lines.Skip(1).ShouldAllBe(l => l.StartsWith("los-tight,"));
        error.ShouldContain("mean efficiency");
    }

    [Fact]
    public async Task Bench_prints_wall_time_throughput_and_peak_memory_and_writes_nothing()
    {
        var before = Directory.Exists("sim-out") ? Directory.GetFileSystemEntries("sim-out", "*", SearchOption.AllDirectories).Length : 0;
        var (exit, output, error) = await InvokeAsync("--agents", "50", "--cycles", "4", "--mechanism", "critical-value", "--bench", "--repeat", "2");

        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.ShouldContain("bench: market 50 agents x 4 cycles, critical-value: median wall ");
        output.ShouldContain("over 2 run(s)");
        output.ShouldContain("agent-cycles/s, peak working set ");
        (Directory.Exists("sim-out") ? Directory.GetFileSystemEntries("sim-out", "*", SearchOption.AllDirectories).Length : 0).ShouldBe(before);
    }
}
