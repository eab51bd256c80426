using CyAgents.SystemApi.Logging;

namespace CyAgents.Orchestrator.Cycles;

/// <summary>
/// At each cycle's end, stores a checkpoint of system.log's last line (ADR 0131), so <c>audit verify</c> can tell a log cut
/// or rewritten after this cycle from the one the cycle wrote. A failure to checkpoint is logged and does not stop the cycle.
/// </summary>
public sealed class AuditCheckpointStep(AuditCheckpoints checkpoints, ILogger<AuditCheckpointStep> logger) : ICycleStep
{
    /// <inheritdoc />
    public string Name => "audit checkpoint";

    /// <inheritdoc />
    public Task BeforeClearingAsync(long cycle, CancellationToken ct) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task AfterExecutionsAsync(long cycle, CancellationToken ct)
    {
        try
        {
            await checkpoints.CheckpointAsync(ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.EntityFrameworkCore.DbUpdateException)
        {
            logger.LogWarning("Cycle {Cycle}: no audit checkpoint stored ({Error}); the next cycle tries again", cycle, e.Message);
        }
    }
}
