using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Tests.Sandbox;

public sealed class DockerSandboxSpecTests
{
    private static ExecutionRequest Request(string agent) => new("c3-b1", agent, 3, ResourceBundle.Create(750, 200), "/tmp/ws/" + agent,
        new AgentEnvironment
        {
            AgentId = agent, ExecutionId = "c3-b1", Token = "t", Bundle = new ResourceBundleDto(750, 200, 0, 0), Balance = new BalanceView(0, 0, 0),
            Prices = new PricesView(0, 0, 0, 0), ApiSocket = "/run/cyagents/api.sock",
        }, TimeSpan.FromSeconds(5)) { ContextFolder = "/srv/ctx/c3-b1" };

    private static DockerSandbox Sandbox(string? debugAgent = null)
    {
        using var engine = new DockerEngine("/nonexistent.sock");
        return new DockerSandbox(engine, new SandboxOptions
        {
            Image = "img:1", ApiSocketFolder = "/srv/api", DebugAgentId = debugAgent, DebuggerFolder = "/home/me/.vsdbg",
        }, NullLogger<DockerSandbox>.Instance);
    }

    [Fact]
    public void The_container_gets_exactly_the_won_caps_and_the_hardening()
    {
        var spec = Sandbox().Specify(Request("a1"));

        spec.HostConfig.Memory.ShouldBe(200L * 1024 * 1024);
        spec.HostConfig.MemorySwap.ShouldBe(spec.HostConfig.Memory);
        spec.HostConfig.NanoCpus.ShouldBe(750_000_000);
        spec.HostConfig.PidsLimit.ShouldBe(64);
        spec.HostConfig.ReadonlyRootfs.ShouldBeTrue();
        spec.HostConfig.CapDrop.ShouldBe(["ALL"]);
        spec.HostConfig.SecurityOpt.ShouldNotBeNull().Count.ShouldBe(2);
        spec.HostConfig.SecurityOpt[0].ShouldBe("no-new-privileges");
        using (var profile = System.Text.Json.JsonDocument.Parse(spec.HostConfig.SecurityOpt[1]["seccomp=".Length..]))
        {
            var denied = profile.RootElement.GetProperty("syscalls")[0].GetProperty("names").EnumerateArray().Select(n => n.GetString()).ToList();
            denied.ShouldContain("io_uring_setup");
            denied.ShouldContain("io_uring_enter");
            denied.ShouldContain("io_uring_register");
            denied.ShouldContain("ptrace");
        }
        spec.HostConfig.ShmSize.ShouldBe(16L * 1024 * 1024);
        spec.HostConfig.Ulimits.ShouldBe([new Ulimit("nofile", 1024, 1024), new Ulimit("nproc", 64, 64)]);
        spec.HostConfig.LogConfig.ShouldNotBeNull().Type.ShouldBe("json-file");
        spec.HostConfig.NetworkMode.ShouldBe("none");
        spec.User.ShouldBe("10001:10001");
        spec.HostConfig.Binds.ShouldBe(["/tmp/ws/a1:/workspace:rw", "/srv/api:/run/cyagents:ro", "/srv/ctx/c3-b1:/run/cyagents-env:ro"]);
        spec.Labels!["cyagents.agent"].ShouldBe("a1");
        spec.Labels["cyagents.execution"].ShouldBe("c3-b1");
        spec.Labels["cyagents.cycle"].ShouldBe("3");
        spec.Labels[DockerSandbox.ManagedLabel].ShouldBe(SandboxOptions.DefaultInstance);
        spec.Env.ShouldBe(["CYAGENTS_ENV=/run/cyagents-env/env.json"]);
        spec.Cmd.ShouldBeNull();
    }

    [Fact]
    public void A_program_override_runs_its_own_image_and_command_as_the_agents_uid()
    {
        var spec = Sandbox().Specify(Request("a1") with { Uid = 200_123, Program = new AgentProgram("shell:1", ["/bin/sh", "-c", "true"]) });

        spec.Image.ShouldBe("shell:1");
        spec.Entrypoint.ShouldBe(["/bin/sh", "-c", "true"]);
        spec.Cmd.ShouldBeNull();
        spec.User.ShouldBe("200123:200123");
    }

    [Fact]
    public void The_manifests_variables_come_first_and_the_systems_own_always_win()
    {
        var program = new AgentProgram("python:1", ["python3", "agent.py"])
        {
            Env = new Dictionary<string, string> { ["MODE"] = "fast", ["CYAGENTS_ENV"] = "/workspace/fake.json", ["A"] = "1" },
        };

        var spec = Sandbox().Specify(Request("a1") with { Program = program });

        spec.Env.ShouldBe(["A=1", "MODE=fast", $"{AgentEnvironment.Variable}={AgentEnvironment.ContainerPath}"]);
        spec.HostConfig.NetworkMode.ShouldBe("none");
        spec.HostConfig.ReadonlyRootfs.ShouldBeTrue();
    }

    [Fact]
    public void The_debugged_agent_waits_for_a_debugger_and_gets_the_debugger_folder_read_only()
    {
        var sandbox = Sandbox(debugAgent: "a1");

        var debugged = sandbox.Specify(Request("a1"));
        var other = sandbox.Specify(Request("a2"));

        debugged.HostConfig.Binds!.ShouldContain("/home/me/.vsdbg:/vsdbg:ro");
        debugged.Env!.ShouldContain("CYAGENTS_WAIT_FOR_DEBUGGER=1");
        other.HostConfig.Binds!.ShouldNotContain(b => b.Contains("vsdbg"));
        other.Env.ShouldNotBeNull().ShouldNotContain(e => e.Contains("DEBUGGER"));
        debugged.HostConfig.SecurityOpt![1].ShouldNotContain("\"ptrace\""); // the debugger attaches with ptrace
        other.HostConfig.SecurityOpt![1].ShouldContain("\"ptrace\"");
    }

    [Fact]
    public async Task A_missing_engine_is_one_line_that_says_how_to_start_one()
    {
        using var engine = new DockerEngine("/nonexistent/docker.sock");

        var e = await Should.ThrowAsync<DockerEngineUnavailableException>(() => engine.PingAsync());

        e.Message.ShouldContain("/nonexistent/docker.sock");
        e.Message.ShouldContain("scripts/ensure-docker");
        e.Message.ShouldNotContain("\n");
    }
}

public sealed class SandboxInstanceTests
{
    [Fact]
    public void Each_database_names_its_own_instance_and_the_same_path_always_the_same_one()
    {
        var a = SandboxOptions.InstanceOf("/srv/a/cyagents.db");
        a.ShouldBe(SandboxOptions.InstanceOf("/srv/a/../a/cyagents.db"));
        a.ShouldNotBe(SandboxOptions.InstanceOf("/srv/b/cyagents.db"));
        a.Length.ShouldBe(16);
        DockerSandbox.ManagedBy(a).ShouldBe($"cyagents.managed={a}");
    }
}
