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

/// <summary>What to run: the agent, its won bundle (= its caps), its workspace and its env.json.</summary>
public sealed record ExecutionRequest(
    string ExecutionId,
    string AgentId,
    long Cycle,
    ResourceBundle Bundle,
    string Workspace,
    AgentEnvironment Environment,
    TimeSpan Window);

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
    long? CpuTimeNanos = null);
