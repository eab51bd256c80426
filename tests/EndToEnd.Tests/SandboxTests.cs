using CyAgents.Contracts;
using System.Text.Json;
using CyAgents.Contracts.Sandbox;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>Misbehaving agents on the real engine: the caps and the isolation hold, and the record says what happened.</summary>
[Collection(DockerCollection.Name)]
public sealed class SandboxTests(DockerFixture docker)
{
    private readonly string _root = Directory.CreateDirectory(Path.Combine(docker.Root, Guid.NewGuid().ToString("N")[..8])).FullName;

    private async Task<(ExecutionOutcome Outcome, ContainerInspect? Inspect, string Workspace)> RunAsync(
        string agentId, object test, ResourceBundle bundle, TimeSpan window, bool debug = false)
    {
        var apiFolder = Directory.CreateDirectory(Path.Combine(_root, "api")).FullName;
        var workspaces = new AgentWorkspaces(Path.Combine(_root, "workspaces"), Path.Combine(_root, "no-template"));
        var workspace = workspaces.Prepare(agentId, JsonSerializer.Serialize(new { bidFraction = 0.1, test }), AgentImage.SandboxUid);
        var executionId = "x" + Guid.NewGuid().ToString("N")[..10];
        var env = new AgentEnvironment
        {
            AgentId = agentId, ExecutionId = executionId, Token = "t", Cycle = 1, NextCycle = 2,
            Bundle = new ResourceBundleDto(bundle.CpuMillicores, bundle.MemoryMiB, 0, 0), Balance = new BalanceView(100, 0, 100),
            Prices = new PricesView(0, 0, 0, 0), ApiSocket = "/run/cyagents/api.sock", Deadline = DateTimeOffset.UtcNow + window,
        };
        var context = workspaces.DeliverEnvironment(env, AgentImage.SandboxUid);
        var options = new SandboxOptions { Image = docker.Image, ApiSocketFolder = apiFolder };
        if (debug)
            options = options with
            {
                DebugAgentId = agentId, DebuggerWait = TimeSpan.FromSeconds(2),
                DebuggerFolder = Directory.CreateDirectory(Path.Combine(_root, "vsdbg")).FullName,
            };
        var sandbox = new DockerSandbox(docker.Engine, options, NullLogger<DockerSandbox>.Instance);
        ContainerInspect? inspect = null;
        sandbox.OnExited = i => { inspect = i; return Task.CompletedTask; };
        var outcome = await sandbox.RunAsync(new ExecutionRequest(executionId, agentId, 1, bundle, workspace, env, window) { ContextFolder = context }, CancellationToken.None);
        return (outcome, inspect, workspace);
    }

    private static string Output(ExecutionOutcome outcome) => string.Join("\n", outcome.Logs.Select(l => l.Text));

    [Fact]
    public async Task An_agent_over_its_memory_cap_is_killed_or_fails_with_the_cap_on_record()
    {
        var (outcome, inspect, _) = await RunAsync("hog", new { allocateMiB = 400 }, ResourceBundle.Create(500, 64), TimeSpan.FromSeconds(20));

        outcome.Status.ShouldBeOneOf(ExecutionStatus.OOMKilled, ExecutionStatus.Failed);
        outcome.Error.ShouldNotBeNull().ShouldContain("64 MiB");
        inspect.ShouldNotBeNull().HostConfig.Memory.ShouldBe(64L * 1024 * 1024);
        Output(outcome).ShouldNotContain("allocated 400 MiB");
    }

    [Fact]
    public async Task A_busy_loop_past_its_window_is_killed_as_timed_out_and_its_container_is_gone()
    {
        var (outcome, _, _) = await RunAsync("spinner", new { busyLoopSeconds = 60 }, ResourceBundle.Create(250, 96), TimeSpan.FromSeconds(2));

        outcome.Status.ShouldBe(ExecutionStatus.TimedOut);
        (outcome.EndedAt - outcome.StartedAt!.Value).ShouldBeLessThan(TimeSpan.FromSeconds(10));
        (await docker.Engine.InspectContainerAsync(outcome.ContainerId!)).ShouldBeNull();
    }

    [Fact]
    public async Task A_tcp_connection_to_an_outside_address_fails_because_the_sandbox_has_no_network()
    {
        // 192.0.2.1 is TEST-NET-1: never routed; with NetworkMode none no packet leaves the container at all.
        var (outcome, inspect, _) = await RunAsync("caller", new { connectTo = "192.0.2.1:80" }, ResourceBundle.Create(250, 96), TimeSpan.FromSeconds(20));

        Output(outcome).ShouldContain("connect 192.0.2.1:80: failed");
        inspect.ShouldNotBeNull().HostConfig.NetworkMode.ShouldBe("none");
    }

    [Fact]
    public async Task Another_agents_workspace_is_not_reachable_from_inside_the_sandbox()
    {
        var neighbour = Directory.CreateDirectory(Path.Combine(_root, "workspaces", "neighbour")).FullName;
        await File.WriteAllTextAsync(Path.Combine(neighbour, "journal"), "secret");

        var (outcome, inspect, _) = await RunAsync("snoop", new { readPath = Path.Combine(neighbour, "journal") },
            ResourceBundle.Create(250, 96), TimeSpan.FromSeconds(20));

        Output(outcome).ShouldContain($"read {Path.Combine(neighbour, "journal")}: failed");
        Output(outcome).ShouldNotContain("secret");
        inspect.ShouldNotBeNull().Mounts.Select(m => m.Destination).Order().ShouldBe(["/run/cyagents", "/run/cyagents-env", "/workspace"]);
    }

    [Fact]
    public async Task An_agent_that_cannot_reach_the_api_says_so_and_exits_non_zero()
    {
        var (outcome, _, _) = await RunAsync("lonely", new { }, ResourceBundle.Create(250, 96), TimeSpan.FromSeconds(20));

        outcome.Status.ShouldBe(ExecutionStatus.Failed);
        outcome.ExitCode.ShouldBe(3);
        Output(outcome).ShouldContain("cannot reach the System API on /run/cyagents/api.sock");
    }

    [Fact]
    public async Task The_debugged_agent_waits_for_a_debugger_with_the_debugger_folder_mounted_and_its_container_is_kept()
    {
        var (outcome, _, _) = await RunAsync("debuggee", new { }, ResourceBundle.Create(250, 96), TimeSpan.FromSeconds(20), debug: true);
        try
        {
            Output(outcome).ShouldContain("waiting up to 2 s for a debugger to attach");
            var kept = (await docker.Engine.InspectContainerAsync(outcome.ContainerId!)).ShouldNotBeNull();
            kept.Mounts.ShouldContain(m => m.Destination == "/vsdbg" && !m.RW);
            kept.Config.Env.ShouldNotBeNull().ShouldContain("CYAGENTS_WAIT_FOR_DEBUGGER=1");
        }
        finally
        {
            await docker.Engine.RemoveContainerAsync(outcome.ContainerId!);
        }
    }
}
