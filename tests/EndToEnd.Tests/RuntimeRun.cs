using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Sandbox.Runtimes;
using CyAgents.Orchestrator.Workspaces;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// One execution of a command in a built-in runtime through <see cref="DockerSandbox"/> with the normal sandbox rules (its own
/// workspace, a delivered read-only context, the API folder, caps, seccomp), on the real engine.
/// </summary>
internal static class RuntimeRun
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly Dictionary<string, string> Tags = new(StringComparer.Ordinal);

    /// <summary>The runtime's tag, built on first use (once per test run).</summary>
    public static async Task<string> ImageAsync(DockerEngine engine, string runtime)
    {
        await Gate.WaitAsync();
        try
        {
            if (Tags.TryGetValue(runtime, out var tag)) return tag;
            return Tags[runtime] = await new RuntimeImages(engine, new RuntimeImagesOptions(), NullLogger.Instance).EnsureAsync(runtime);
        }
        finally
        {
            Gate.Release();
        }
    }

    public sealed record Result(ExecutionOutcome Outcome, ContainerInspect? Inspect, RecordingLogger Log, string ExecutionId)
    {
        public string Output => string.Join("\n", Outcome.Logs.Select(l => l.Text));
    }

    public static async Task<Result> RunAsync(DockerEngine engine, string root, string runtime, IReadOnlyList<string> command, TimeSpan window,
        Func<SandboxOptions, SandboxOptions>? configure = null, WorkspaceQuota? quota = null, Action<string>? prepareWorkspace = null)
    {
        var image = await ImageAsync(engine, runtime);
        using var workspaces = new AgentWorkspaces(Path.Combine(root, "workspaces"), Path.Combine(root, "no-template"), quota: quota);
        var agentId = runtime + "-agent";
        var workspace = workspaces.Prepare(agentId, null, AgentImage.SandboxUid);
        prepareWorkspace?.Invoke(workspace);
        var executionId = "r" + Guid.NewGuid().ToString("N")[..10];
        var env = new AgentEnvironment
        {
            AgentId = agentId, ExecutionId = executionId, Token = "t", Cycle = 1, NextCycle = 2,
            Bundle = new ResourceBundleDto(500, 128, 0, 0), Balance = new BalanceView(1, 0, 1), Prices = new PricesView(0, 0, 0, 0),
            ApiSocket = "/run/cyagents/api.sock", Deadline = DateTimeOffset.UtcNow + window,
        };
        var context = workspaces.DeliverEnvironment(env, AgentImage.SandboxUid);
        var options = new SandboxOptions { Image = image, ApiSocketFolder = Directory.CreateDirectory(Path.Combine(root, "api")).FullName };
        var log = new RecordingLogger();
        var sandbox = new DockerSandbox(engine, configure?.Invoke(options) ?? options, log);
        ContainerInspect? inspect = null;
        sandbox.OnExited = i => { inspect = i; return Task.CompletedTask; };
        var outcome = await sandbox.RunAsync(new ExecutionRequest(executionId, agentId, 1, ResourceBundle.Create(500, 128), workspace, env, window)
        {
            ContextFolder = context, Program = new AgentProgram(image, command), WorkspaceQuotaBytes = workspaces.Quota?.Bytes,
        }, CancellationToken.None);
        workspaces.RemoveEnvironment(executionId);
        return new Result(outcome, inspect, log, executionId);
    }
}
