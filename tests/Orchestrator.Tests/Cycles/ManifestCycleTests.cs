using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Cycles;

/// <summary>The cycle runs what the agent's stored manifest says and places the entry bid it names.</summary>
public sealed class ManifestCycleTests
{
    private sealed class Runtimes : IRuntimeImages
    {
        public Task<string> EnsureAsync(string runtime, CancellationToken ct = default) => Task.FromResult($"cyagents/runtime-{runtime}:abc");
    }

    private static AgentPrograms Programs(params string[] imagesTheEngineHas) =>
        new(new Runtimes(), (image, _) => Task.FromResult(imagesTheEngineHas.Contains(image)));

    private static string Stored(string json) => AgentManifestReader.Write(AgentManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(json)));

    [Fact]
    public async Task A_newcomer_bids_its_manifests_entry_bid_and_runs_its_runtime_with_its_command_and_env()
    {
        await using var world = new CycleWorld(programs: Programs());
        await world.AddAgentAsync("py-1", 5000, Stored("""
            {"runtime":"python","command":["python3","agent.py"],"env":{"MODE":"calm"},
             "entryBid":{"amount":77,"bundle":{"cpuMillicores":300,"memoryMiB":128}}}
            """));

        var report = await world.Cycle.RunAsync(1, default);

        var won = report.Winners.ShouldHaveSingleItem();
        won.Amount.ShouldBe(77);
        won.Bundle.ShouldBe(ResourceBundle.Create(300, 128));
        var program = world.Sandbox.Requests.ShouldHaveSingleItem().Program.ShouldNotBeNull();
        program.Image.ShouldBe("cyagents/runtime-python:abc");
        program.Command.ShouldBe(["python3", "agent.py"]);
        program.Env.ShouldBe(new Dictionary<string, string> { ["MODE"] = "calm" });
    }

    [Fact]
    public async Task An_agent_without_a_stored_manifest_runs_as_genesis_with_the_configured_entry_bid()
    {
        await using var world = new CycleWorld(programs: Programs());
        await world.AddAgentAsync("old-1", 5000);

        var report = await world.Cycle.RunAsync(1, default);

        report.Winners.ShouldHaveSingleItem().Amount.ShouldBe(world.Options.Genesis.FirstBidAmount);
        var program = world.Sandbox.Requests.ShouldHaveSingleItem().Program.ShouldNotBeNull();
        program.Image.ShouldBe("cyagents/runtime-dotnet:abc");
        program.Command.ShouldBe(["/app/genesis-agent"]);
    }

    [Fact]
    public async Task An_image_agent_runs_its_image_when_the_engine_has_it_and_fails_to_launch_clearly_when_not()
    {
        await using var world = new CycleWorld(programs: Programs("mine/trader:1"));
        await world.AddAgentAsync("img-1", 5000, Stored("""{"image":"mine/trader:1","command":["/trader"]}"""));
        await world.AddAgentAsync("img-2", 5000, Stored("""{"image":"mine/absent:1","command":["/trader"]}"""));

        var report = await world.Cycle.RunAsync(1, default);

        world.Sandbox.Requests.ShouldHaveSingleItem().Program!.Image.ShouldBe("mine/trader:1");
        report.Executions.Single(e => e.AgentId == "img-1").Status.ShouldBe(ExecutionStatus.Succeeded);
        var failed = report.Executions.Single(e => e.AgentId == "img-2");
        failed.Status.ShouldBe(ExecutionStatus.LaunchFailed);
        failed.Error.ShouldNotBeNull().ShouldContain("no image 'mine/absent:1'");
        report.Conservation.Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task Genesis_gets_the_manifest_of_its_template_at_bootstrap()
    {
        await using var world = new CycleWorld(programs: Programs());
        File.WriteAllText(Path.Combine(world.Workspaces.Template, AgentManifestReader.FileName),
            """{"runtime":"dotnet","command":["/app/genesis-agent"],"env":{"TRACE":"1"}}""");

        await world.Cycle.BootstrapAsync(default);

        var stored = await world.QueryAsync(db => db.Set<AgentRecord>().Select(a => a.ManifestJson).SingleAsync());
        AgentManifestReader.FromStored(stored).Env.ShouldBe(new Dictionary<string, string> { ["TRACE"] = "1" });
    }
}
