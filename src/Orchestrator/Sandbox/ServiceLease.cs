using CyAgents.Economy.Resources;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// A service agent's running container between and across the windows it wins (ADR 0137): the container, what reads its
/// output and the engine's events about it, and the context folder mounted into it, which the host rewrites for each new
/// execution. Owned by <see cref="DockerSandbox"/>; the cycle sees <see cref="LeaseView"/>s.
/// </summary>
internal sealed class ServiceLease
{
    public required string AgentId { get; init; }
    public required string ContainerId { get; init; }
    /// <summary>The execution whose window the container serves or last served.</summary>
    public required string ExecutionId { get; set; }
    /// <summary>The request of the window it serves now (its output events carry that execution); null: the first.</summary>
    public ExecutionRequest? Serving { get; set; }
    /// <summary>The caps the container has now.</summary>
    public required ResourceBundle Bundle { get; set; }
    /// <summary>The host folder mounted read-only at the agent's context path; its env.json is replaced for every window.</summary>
    public string? ContextFolder { get; init; }
    public required AgentOutput Output { get; init; }
    public required Task Reader { get; init; }
    public required CancellationTokenSource Reading { get; init; }
    public required ContainerEvents Events { get; init; }
    public required CancellationTokenSource Watching { get; init; }
    /// <summary>The cgroup's CPU time when the last window ended: a window's CPU time is what it added.</summary>
    public long CpuNanosBefore { get; set; }
    /// <summary>When the container started.</summary>
    public DateTimeOffset StartedAt { get; init; }
}

/// <summary>A held lease as the cycle sees it: whose, which container, the execution it last served and its caps.</summary>
public sealed record LeaseView(string AgentId, string ContainerId, string ExecutionId, ResourceBundle Bundle);
