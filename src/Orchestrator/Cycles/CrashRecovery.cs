using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Records;
using CyAgents.Orchestrator.Sandbox;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Cycles;

/// <summary>What a restart found and repaired.</summary>
public sealed record RecoveryReport(int ContainersRemoved, int ExecutionsAbandoned, IReadOnlyList<long> CyclesInterrupted, int BidsReopened,
    ConservationReport Conservation);

/// <summary>
/// Repairs what an orchestrator that died mid-cycle left behind (ADR 0043). Settlement commits in one transaction, so an
/// interrupted cycle is either unsettled (its frozen bids go back to open, escrow still held, and clear next cycle) or
/// settled (its credits are final); either way no credit is lost. Containers found by label are removed and their
/// executions, like any still marked pending or running, become Abandoned with their tokens revoked.
/// </summary>
public sealed class CrashRecovery(
    IDbContextFactory<CyAgentsDbContext> databases,
    Func<CyAgentsDbContext, ILedger> ledgerFor,
    DockerEngine? engine,
    IExecutionTokens tokens,
    ILogger<CrashRecovery> logger,
    TimeProvider? clock = null,
    string instance = SandboxOptions.DefaultInstance)
{
    public async Task<RecoveryReport> RepairAsync(CancellationToken ct)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["Component"] = "Orchestrator" });
        var removed = 0;
        if (engine is not null)
        {
            foreach (var container in await engine.ListContainersAsync(DockerSandbox.ManagedBy(instance), ct))
            {
                var executionId = container.Labels?.GetValueOrDefault(DockerSandbox.ExecutionLabel);
                await engine.RemoveContainerAsync(container.Id, ct);
                removed++;
                logger.LogWarning("Removed container {ContainerId} left by an earlier run (execution {ExecutionId})",
                    container.Id[..12], executionId);
            }
        }

        await using var db = await databases.CreateDbContextAsync(ct);
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        var abandoned = await db.Set<ExecutionRecord>()
            .Where(e => e.Status == ExecutionStatus.Pending || e.Status == ExecutionStatus.Running)
            .ToListAsync(ct);
        foreach (var execution in abandoned)
        {
            execution.Status = ExecutionStatus.Abandoned;
            execution.EndedAt = now;
            execution.Error = "the orchestrator stopped during this execution; its container was removed at the next start";
        }

        var interrupted = await db.Set<CycleRecord>()
            .Where(c => c.Status != CycleStatus.Completed && c.Status != CycleStatus.Interrupted)
            .OrderBy(c => c.Number).ToListAsync(ct);
        var reopened = 0;
        foreach (var cycle in interrupted)
        {
            if (cycle.Status is CycleStatus.Open or CycleStatus.Clearing)
            {
                // Settlement never committed: the escrows are still pending, so the bids simply return to the book.
                reopened += await new BidBook(db, ledgerFor(db)).ReopenFrozenAsync(cycle.Number, ct);
            }
            cycle.Status = CycleStatus.Interrupted;
            cycle.EndedAt = now;
        }
        await db.SaveChangesAsync(ct);
        foreach (var execution in abandoned)
            await tokens.RevokeAsync(execution.Id, ct);

        var conservation = await ledgerFor(db).CheckConservationAsync(ct);
        foreach (var cycle in interrupted)
            cycle.InvariantHeld = conservation.Holds;
        await db.SaveChangesAsync(ct);

        if (removed + abandoned.Count + interrupted.Count > 0)
            logger.LogWarning(
                "Recovered from an interrupted run: {Containers} containers removed, {Executions} executions abandoned, cycles {Cycles} interrupted, {Bids} bids reopened; invariant holds: {Holds}",
                removed, abandoned.Count, string.Join(",", interrupted.Select(c => c.Number)), reopened, conservation.Holds);
        if (!conservation.Holds)
            throw new LedgerInvariantBrokenException(interrupted.LastOrDefault()?.Number ?? 0, conservation);
        return new RecoveryReport(removed, abandoned.Count, interrupted.Select(c => c.Number).ToList(), reopened, conservation);
    }
}
