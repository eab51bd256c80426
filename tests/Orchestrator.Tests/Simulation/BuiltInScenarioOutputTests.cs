using System.Security.Cryptography;
using CyAgents.Orchestrator.Simulation.Report;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>
/// The built-in scenarios give the same bytes they gave before they were moved into scenario files (ADR 0096):
/// each hash below was taken from the code-defined scenarios, over every output file but timings.json.
/// </summary>
public class BuiltInScenarioOutputTests
{
    public static TheoryData<string, int, int, string> Golden => new()
    {
        { "market", 150, 30, "c596404c2e1efb7bb4cda5334879fa6db65914ab8f290b60a3e61470d90c9049" },
        { "boltzmann", 150, 40, "a64db32ed1e7805a840215b6121256697bc5c32a473559ce702d79d098f47f70" },
        { "lottery-532", 6, 300, "4b1219d2ab51edcfc98ff2868a5fd9a742404e229a5e0e4035faa371ec4b1c3f" },
        { "los-tight", 17, 10, "db7906a629fd4b9bbb75bff6ff60c16e573f07650a713918d6b1380a7d0c5d5f" },
        { "demand-shock", 120, 60, "3a0133956e9ea26f49f13c3ec0b555aa180fd99c398fc8787118dc7c76c4f285" },
        { "sybil", 80, 30, "b6c43525826045d0ee312cc8fc75c1bc5953547e0527bc3ce0dc16524dbb8160" },
        { "scale", 1000, 4, "3a2718828fc58e980d6dec9e91506e1aa24e3921e4cedd221a93537dd138ab5a" },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public async Task Built_in_scenario_writes_the_same_bytes_as_before_scenario_files(string scenario, int agents, int cycles, string expected)
    {
        var folder = Simulate.TempFolder("golden-" + scenario);
        ReportWriter.Write(await Simulate.RunAsync(scenario, agents, cycles, seed: 2026), folder);
        using var sha = SHA256.Create();
        foreach (var file in Directory.GetFiles(folder).Where(f => Path.GetFileName(f) != ReportWriter.TimingsFile).Order(StringComparer.Ordinal))
        {
            var name = System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n");
            sha.TransformBlock(name, 0, name.Length, null, 0);
            var bytes = File.ReadAllBytes(file);
            sha.TransformBlock(bytes, 0, bytes.Length, null, 0);
        }
        sha.TransformFinalBlock([], 0, 0);
        Convert.ToHexStringLower(sha.Hash!).ShouldBe(expected, scenario);
    }
}
