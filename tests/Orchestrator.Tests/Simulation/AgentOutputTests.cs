using System.CommandLine;
using System.IO.Compression;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Simulation.Report;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>Per-agent output (simulate --agent-output): agent x cycle rows that agree with the run's own tallies.</summary>
public class AgentOutputTests
{
    [Fact]
    public async Task Agent_output_has_a_row_per_agent_and_cycle_that_adds_up_to_the_runs_wins_and_final_wealth()
    {
        var folder = Simulate.TempFolder("agents");
        var root = new RootCommand("test") { SimulateCommand.Create() };
        var exit = await root.Parse(["simulate", "--scenario", "market", "--agents", "80", "--cycles", "15", "--mechanism", "critical-value",
            "--seed", "6", "--agent-output", "--out", folder]).InvokeAsync(new InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter() });
        exit.ShouldBe(0);

        var path = Path.Combine(folder, AgentCycleCsv.FileName("critical-value"));
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        var lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe(AgentCycleCsv.Header);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        rows.Count.ShouldBe(80 * 15);

        var csv = File.ReadAllLines(Path.Combine(folder, "cycles-critical-value.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        var header = File.ReadLines(Path.Combine(folder, "cycles-critical-value.csv")).First().Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        for (var cycle = 1; cycle <= 15; cycle++)
        {
            var ofCycle = rows.Where(r => r[0] == cycle.ToString()).ToList();
            ofCycle.Count.ShouldBe(80);
            ofCycle.Count(r => r[4] == "1").ShouldBe(int.Parse(csv[cycle - 1][Col("winners")]), $"winners in cycle {cycle}");
            ofCycle.Count(r => r[3] != "0").ShouldBe(int.Parse(csv[cycle - 1][Col("active_agents")]), $"bidders in cycle {cycle}");
            ofCycle.Sum(r => long.Parse(r[5])).ShouldBe(long.Parse(csv[cycle - 1][Col("revenue")]), $"payments in cycle {cycle}");
            ofCycle.ShouldAllBe(r => long.Parse(r[5]) <= long.Parse(r[3]), "nobody pays more than it bid");
        }
    }
}
