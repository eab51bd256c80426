namespace CyAgents.Orchestrator.Cycles;

/// <summary>Per-execution API tokens: issued before launch, revoked when the execution ends (ADR 0005).</summary>
public interface IExecutionTokens
{
    Task<string> IssueAsync(string agentId, string executionId, long cycle, CancellationToken ct);
    Task RevokeAsync(string executionId, CancellationToken ct);
}
