using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.Orchestrator.Sandbox;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Cycles;

/// <summary>What a restart found and repaired.</summary>
public sealed record RecoveryReport(int ContainersRemoved, int ExecutionsAbandoned, IReadOnlyList<long> CyclesInterrupted, int BidsReopened,
    ConservationReport Conservation)
{
    /// <summary>Agents refunded and re-entered because the host ended their execution (ADR 0085).</summary>
    public IReadOnlyList<HostFaultRepair> HostFaults { get; init; } = [];
}

/// <summary>
/// Repairs what an orchestrator that died mid-cycle left behind (ADR 0043). Settlement commits in one transaction, so an
/// interrupted cycle is either unsettled (its frozen bids go back to open, escrow still held, and clear next cycle) or
/// settled (its credits are final); either way no credit is lost. Containers found by label are removed and their
/// executions, like any still marked pending or running, become Abandoned with their tokens revoked. Every execution of an
/// interrupted cycle that the host ended is then refunded and re-entered (<see cref="HostFaultSettlement"/>, ADR 0085), so
/// the crash costs its agent nothing and it runs again. A service's lease container found running gets SIGTERM and
/// <see cref="LeaseGrace"/> before its removal, and a record still <see cref="ExecutionStatus.Leased"/> becomes
/// <see cref="ExecutionStatus.Preempted"/>, not refunded: its windows were served (ADR 0137).
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
    /// <summary>Test switch: a deliberately broken recovery that leaves frozen bids frozen, so the fault harness can show it fails.</summary>
    internal bool SkipBidReopeningForTests { get; init; }

    /// <summary>Test switch: a deliberately broken recovery that does not refund or re-enter host-faulted executions.</summary>
    internal bool SkipHostFaultRepairForTests { get; init; }

    /// <summary>Between a lease container's SIGTERM and its removal (SIGKILL).</summary>
    public TimeSpan LeaseGrace { get; init; } = TimeSpan.FromSeconds(3);

    private async Task StopLeaseAsync(string containerId, CancellationToken ct)
    {
        await engine!.KillContainerAsync(containerId, "SIGTERM", ct);
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(ct);
        grace.CancelAfter(LeaseGrace);
        try { await engine.WaitContainerAsync(containerId, grace.Token); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
    }

    public async Task<RecoveryReport> RepairAsync(CancellationToken ct)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["Component"] = "Orchestrator" });
        var removed = 0;
        if (engine is not null)
        {
            foreach (var container in await engine.ListContainersAsync(DockerSandbox.ManagedBy(instance), ct))
            {
                var executionId = container.Labels?.GetValueOrDefault(DockerSandbox.ExecutionLabel);
                // A service's lease outlived the orchestrator (ADR 0137): it gets its SIGTERM and grace, as a preemption would.
                if (container.Labels?.GetValueOrDefault(DockerSandbox.KindLabel) == "service" && container.State == "running")
                    await StopLeaseAsync(container.Id, ct);
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
        // A lease between windows had served every window it was paid for: preempted, not abandoned, and not refunded.
        var leases = await db.Set<ExecutionRecord>().Where(e => e.Status == ExecutionStatus.Leased).ToListAsync(ct);
        foreach (var execution in leases)
        {
            execution.Status = ExecutionStatus.Preempted;
            execution.EndedAt = now;
            execution.Error = "the orchestrator stopped between its windows; its lease container was stopped at the next start";
            db.AddEvent(EventTypes.ExecutionPreempted, execution.AgentId, execution.Cycle, now,
                new { executionId = execution.Id, containerId = execution.ContainerId, status = execution.Status.ToString(), reason = execution.Error });
        }

        var interrupted = await db.Set<CycleRecord>()
            .Where(c => c.Status != CycleStatus.Completed && c.Status != CycleStatus.Interrupted)
            .OrderBy(c => c.Number).ToListAsync(ct);
        var reopened = 0;
        foreach (var cycle in interrupted)
        {
            if (cycle.Status is CycleStatus.Open or CycleStatus.Clearing && !SkipBidReopeningForTests)
            {
                // Settlement never committed: the escrows are still pending, so the bids simply return to the book.
                reopened += await new BidBook(db, ledgerFor(db)).ReopenFrozenAsync(cycle.Number, ct);
            }
        }
        // The cycles are marked interrupted only after their host faults are repaired, so a crash during recovery repeats it.
        await db.SaveChangesAsync(ct);
        foreach (var execution in abandoned)
            await tokens.RevokeAsync(execution.Id, ct);

        var repairs = new List<HostFaultRepair>();
        var interruptedNumbers = interrupted.Select(c => c.Number).ToList();
        var hostEnded = SkipHostFaultRepairForTests ? [] : await db.Set<ExecutionRecord>()
            .Where(e => interruptedNumbers.Contains(e.Cycle) &&
                        (e.Status == ExecutionStatus.Abandoned || e.Status == ExecutionStatus.LaunchFailed || e.Status == ExecutionStatus.HostFault))
            .OrderBy(e => e.Id).Select(e => e.Id).ToListAsync(ct);
        foreach (var executionId in hostEnded)
        {
            await using var repairDb = await databases.CreateDbContextAsync(ct);
            if (await HostFaultSettlement.RepairAsync(repairDb, ledgerFor(repairDb), executionId, now, ct) is { } repair)
            {
                repairs.Add(repair);
                logger.LogWarning("Execution {ExecutionId} of {AgentId} was ended by the host: refunded {Refunded} credits, re-entry bid {BidId}",
                    repair.ExecutionId, repair.AgentId, repair.Refunded, repair.ReentryBidId ?? "(none: it has an open bid or no credits)");
            }
        }

        var conservation = await ledgerFor(db).CheckConservationAsync(ct);
        foreach (var cycle in interrupted)
        {
            cycle.Status = CycleStatus.Interrupted;
            cycle.EndedAt = now;
            cycle.InvariantHeld = conservation.Holds;
        }
        await db.SaveChangesAsync(ct);

        if (removed + abandoned.Count + interrupted.Count > 0)
            logger.LogWarning(
                "Recovered from an interrupted run: {Containers} containers removed, {Executions} executions abandoned, cycles {Cycles} interrupted, {Bids} bids reopened; invariant holds: {Holds}",
                removed, abandoned.Count, string.Join(",", interrupted.Select(c => c.Number)), reopened, conservation.Holds);
        if (!conservation.Holds)
            throw new LedgerInvariantBrokenException(interrupted.LastOrDefault()?.Number ?? 0, conservation);
        return new RecoveryReport(removed, abandoned.Count, interruptedNumbers, reopened, conservation) { HostFaults = repairs };
    }
}
