using CyAgents.Contracts.Sandbox;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>Runs one execution of an agent to its end; the cycle never sees containers, only outcomes.</summary>
public interface ISandbox
{
    /// <summary>Launches, waits (killing at the window's end), collects and cleans up. Never throws for agent failures.</summary>
    Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct);
}

/// <summary>What to run: the agent, its won bundle (= its caps), its workspace and its context.</summary>
public sealed record ExecutionRequest(
    string ExecutionId,
    string AgentId,
    long Cycle,
    ResourceBundle Bundle,
    string Workspace,
    AgentEnvironment Environment,
    TimeSpan Window)
{
    /// <summary>The host folder holding this execution's env.json alone, mounted read-only; null runs without one.</summary>
    public string? ContextFolder { get; init; }
    /// <summary>The agent's own host uid (ADR 0071): the container's user and the owner of its workspace.</summary>
    public int Uid { get; init; } = AgentImage.SandboxUid;
    /// <summary>The workspace's quota when it is a file system of its own (ADR 0073): watched while it runs; null for none.</summary>
    public long? WorkspaceQuotaBytes { get; init; }
    /// <summary>
    /// A service agent's execution (manifest <c>kind: service</c>, ADR 0137): at the window's end its container keeps running
    /// as a lease instead of being stopped, and its agent's next win runs in that container.
    /// </summary>
    public bool Service { get; init; }
    /// <summary>Another image and command than the configured agent image's; null runs the configured one.</summary>
    public AgentProgram? Program { get; init; }
}

/// <summary>An image the engine has and the command to run in it: what an agent's manifest says (<see cref="AgentPrograms"/>).</summary>
/// <param name="Image">Image name or id.</param>
/// <param name="Command">The argv, replacing the image's entrypoint and command; empty keeps the image's own.</param>
public sealed record AgentProgram(string Image, IReadOnlyList<string> Command)
{
    /// <summary>The manifest's variables; the system's own (CYAGENTS_*) are added after them and always win.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
}

/// <summary>How an execution ended, with what the engine reports.</summary>
public sealed record ExecutionOutcome(
    ExecutionStatus Status,
    int? ExitCode,
    string? ContainerId,
    DateTimeOffset? StartedAt,
    DateTimeOffset EndedAt,
    string? Error,
    IReadOnlyList<LogLine> Logs,
    long? PeakMemoryBytes = null,
    long? CpuTimeNanos = null)
{
    /// <summary>Output bytes beyond the execution's budget that were read and dropped (0 when nothing was dropped).</summary>
    public long OutputBytesDropped { get; init; }
    /// <summary>It ran in a service's lease container that was already running (no launch: not a launch-latency sample).</summary>
    public bool InRunningLease { get; init; }
}
