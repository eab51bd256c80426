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
        }, TimeSpan.FromSeconds(5));

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
        spec.HostConfig.SecurityOpt.ShouldBe(["no-new-privileges"]);
        spec.HostConfig.NetworkMode.ShouldBe("none");
        spec.User.ShouldBe("10001:10001");
        spec.HostConfig.Binds.ShouldBe(["/tmp/ws/a1:/workspace:rw", "/srv/api:/run/cyagents:ro"]);
        spec.Labels!["cyagents.agent"].ShouldBe("a1");
        spec.Labels["cyagents.execution"].ShouldBe("c3-b1");
        spec.Labels["cyagents.cycle"].ShouldBe("3");
        spec.Labels[DockerSandbox.ManagedLabel].ShouldBe(SandboxOptions.DefaultInstance);
        spec.Env.ShouldBeEmpty();
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
        other.Env.ShouldBeEmpty();
    }

    [Fact]
    public void Log_frames_are_split_by_stream_and_into_lines()
    {
        static byte[] Frame(byte stream, string text)
        {
            var body = System.Text.Encoding.UTF8.GetBytes(text);
            var header = new byte[] { stream, 0, 0, 0, 0, 0, 0, 0 };
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)body.Length);
            return [.. header, .. body];
        }

        var lines = DockerEngine.DemultiplexLogs([.. Frame(1, "hello\nwor"), .. Frame(2, "oops\n"), .. Frame(1, "ld\n"), .. Frame(1, "tail")]);

        lines.ShouldBe([new LogLine("stdout", "hello"), new LogLine("stderr", "oops"), new LogLine("stdout", "world"), new LogLine("stdout", "tail")]);
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
