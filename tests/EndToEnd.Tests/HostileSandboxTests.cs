using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.Persistence.Records;
using Microsoft.Extensions.Logging;

namespace CyAgents.EndToEnd.Tests;

/// <summary>The hostile agent against the sandbox alone, on the real engine: each attack class, and what stops it.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Hostile")]
public sealed class HostileSandboxTests(DockerFixture docker)
{
    private readonly string _root = Directory.CreateDirectory(Path.Combine(docker.Root, "hostile-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    private async Task<(ExecutionOutcome Outcome, ContainerInspect? Inspect, RecordingLogger Log)> RunAsync(string script, TimeSpan window,
        Func<SandboxOptions, SandboxOptions>? configure = null, string agentId = "hostile", WorkspaceQuota? quota = null)
    {
        var image = await HostileAgent.ImageAsync(docker.Engine);
        using var workspaces = new AgentWorkspaces(Path.Combine(_root, "workspaces"), Path.Combine(_root, "no-template"), quota: quota);
        var workspace = workspaces.Prepare(agentId, null, AgentImage.SandboxUid);
        var executionId = "h" + Guid.NewGuid().ToString("N")[..10];
        var env = new AgentEnvironment
        {
            AgentId = agentId, ExecutionId = executionId, Token = "t", Cycle = 1, NextCycle = 2,
            Bundle = new ResourceBundleDto(250, 64, 0, 0), Balance = new BalanceView(1, 0, 1), Prices = new PricesView(0, 0, 0, 0),
            ApiSocket = "/run/cyagents/api.sock", Deadline = DateTimeOffset.UtcNow + window,
        };
        var context = workspaces.DeliverEnvironment(env, AgentImage.SandboxUid);
        var options = new SandboxOptions { Image = docker.Image, ApiSocketFolder = Directory.CreateDirectory(Path.Combine(_root, "api")).FullName };
        var log = new RecordingLogger();
        var sandbox = new DockerSandbox(docker.Engine, configure?.Invoke(options) ?? options, log);
        ContainerInspect? inspect = null;
        sandbox.OnExited = i => { inspect = i; return Task.CompletedTask; };
        var outcome = await sandbox.RunAsync(new ExecutionRequest(executionId, agentId, 1, ResourceBundle.Create(250, 64), workspace, env, window)
        {
            ContextFolder = context, Program = new AgentProgram(image, ["/bin/sh", "-c", script]), WorkspaceQuotaBytes = workspaces.Quota?.Bytes,
        }, CancellationToken.None);
        workspaces.RemoveEnvironment(executionId);
        return (outcome, inspect, log);
    }

    private static string Output(ExecutionOutcome outcome) => string.Join("\n", outcome.Logs.Select(l => l.Text));

    [Fact]
    public async Task Two_hundred_MiB_without_a_newline_is_read_as_a_stream_capped_split_and_counted_in_one_truncation_event()
    {
        var (outcome, inspect, log) = await RunAsync("echo start; head -c 209715200 /dev/zero | tr '\\0' A; echo; echo done",
            TimeSpan.FromSeconds(60), o => o with { OutputBudgetBytes = 256 * 1024, MaxLineBytes = 4096 });

        outcome.Status.ShouldBe(ExecutionStatus.Succeeded);
        outcome.Logs[0].Text.ShouldBe("start");
        outcome.Logs.Skip(1).ShouldAllBe(l => l.Text.Length <= 4096);
        outcome.Logs.Sum(l => (long)l.Text.Length + 1).ShouldBeLessThanOrEqualTo(256 * 1024 + 4097);
        // Attached before the start, every byte is read: all but the kept quarter MiB is counted as dropped.
        outcome.OutputBytesDropped.ShouldBeGreaterThanOrEqualTo(209_715_200L - 256 * 1024);
        log.Lines.Count(l => l.Contains("truncated")).ShouldBe(1);
        log.Lines.ShouldContain(l => l.Contains("truncated") && l.Contains($"{outcome.OutputBytesDropped} bytes dropped"));
        // The engine's own copy of the output is bounded too.
        inspect.ShouldNotBeNull().HostConfig.LogConfig.ShouldNotBeNull().Config.ShouldNotBeNull()["max-size"].ShouldBe("8m");
    }

    [Fact]
    public async Task Io_uring_and_new_user_namespaces_are_refused_by_the_seccomp_profile_which_dockers_default_would_allow()
    {
        var script = $"{HostileAgent.UringProbe}; echo uring=$?; unshare -U true && echo unshare=allowed || echo unshare=refused";

        var (outcome, inspect, _) = await RunAsync(script, TimeSpan.FromSeconds(20));

        Output(outcome).ShouldContain("uring=1"); // EPERM from the profile
        Output(outcome).ShouldContain("unshare=refused");
        inspect.ShouldNotBeNull().HostConfig.SecurityOpt.ShouldNotBeNull().ShouldContain(o => o.StartsWith("seccomp="));

        // The probe itself works: under the engine's default profile the same call gets a ring (fd 3 -> 253) on this kernel.
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var plain = new ContainerSpec
        {
            Image = image, Cmd = ["/bin/sh", "-c", $"{HostileAgent.UringProbe}; echo uring=$?"], User = "10001:10001", NetworkDisabled = true,
            Labels = new Dictionary<string, string> { [DockerSandbox.ManagedLabel] = "hostile-test-control" },
            HostConfig = new HostConfig { NetworkMode = "none", CapDrop = ["ALL"], Memory = 64L << 20, MemorySwap = 64L << 20 },
        };
        var id = await docker.Engine.CreateContainerAsync(plain);
        try
        {
            await docker.Engine.StartContainerAsync(id);
            await docker.Engine.WaitContainerAsync(id);
            await using var logs = await docker.Engine.FollowLogsAsync(id);
            var control = new AgentOutput(4096, 256, _ => { });
            await control.ReadAsync(logs, default);
            control.Lines.Select(l => l.Text).ShouldContain(t => t.StartsWith("uring=") && t != "uring=1");
        }
        finally
        {
            await docker.Engine.RemoveContainerAsync(id);
        }
    }

    [Fact]
    public async Task At_the_end_of_the_window_the_agent_gets_sigterm_and_its_grace_before_sigkill()
    {
        var (outcome, inspect, _) = await RunAsync("trap 'echo got TERM; exit 7' TERM; echo running; while true; do sleep 0.2; done",
            TimeSpan.FromSeconds(2), o => o with { StopGrace = TimeSpan.FromSeconds(5) });

        outcome.Status.ShouldBe(ExecutionStatus.TimedOut);
        Output(outcome).ShouldContain("got TERM");
        outcome.ExitCode.ShouldBe(7);
        (outcome.EndedAt - outcome.StartedAt!.Value).ShouldBeLessThan(TimeSpan.FromSeconds(7));
        inspect.ShouldNotBeNull().HostConfig.ShmSize.ShouldBe(16L * 1024 * 1024);
        inspect.HostConfig.Ulimits.ShouldNotBeNull().Select(u => u.Name).Order().ShouldBe(["nofile", "nproc"]);
    }

    [Fact]
    public async Task Filling_the_workspace_past_its_quota_ends_the_execution_as_quota_exceeded_and_the_host_disk_keeps_its_space()
    {
        var hostFreeBefore = WorkspaceQuota.Free(_root)!.Value.FreeBytes;

        var (outcome, _, _) = await RunAsync("dd if=/dev/zero of=/workspace/fill bs=1M count=500; echo dd=$?; df -k /workspace; sleep 30",
            TimeSpan.FromSeconds(25), quota: new WorkspaceQuota(16, 1024));

        outcome.Status.ShouldBe(ExecutionStatus.QuotaExceeded);
        outcome.Error.ShouldNotBeNull().ShouldContain("quota of 16 MiB");
        (outcome.EndedAt - outcome.StartedAt!.Value).ShouldBeLessThan(TimeSpan.FromSeconds(20)); // stopped when full, not at the window
        (hostFreeBefore - WorkspaceQuota.Free(_root)!.Value.FreeBytes).ShouldBeLessThan(100L * 1024 * 1024);
    }

    [Fact]
    public async Task Creating_more_files_than_the_quota_allows_ends_the_execution_as_quota_exceeded()
    {
        var (outcome, _, _) = await RunAsync("seq 1 100000 | xargs touch 2>/dev/null; echo touched; sleep 30", TimeSpan.FromSeconds(25),
            quota: new WorkspaceQuota(16, 1024));

        outcome.Status.ShouldBe(ExecutionStatus.QuotaExceeded);
        outcome.Error.ShouldNotBeNull().ShouldContain("every file");
    }

    [Fact]
    public async Task An_agent_ignoring_sigterm_is_killed_after_the_grace()
    {
        var (outcome, _, _) = await RunAsync("trap '' TERM; while true; do sleep 0.2; done", TimeSpan.FromSeconds(1),
            o => o with { StopGrace = TimeSpan.FromSeconds(1) });

        outcome.Status.ShouldBe(ExecutionStatus.TimedOut);
        outcome.ExitCode.ShouldBe(137);
        (await docker.Engine.InspectContainerAsync(outcome.ContainerId!)).ShouldBeNull();
    }
}

/// <summary>Collects formatted log lines, so a test can count events.</summary>
internal sealed class RecordingLogger : ILogger<DockerSandbox>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
    public IReadOnlyList<string> Lines => [.. _lines];
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue(formatter(state, exception));
}
