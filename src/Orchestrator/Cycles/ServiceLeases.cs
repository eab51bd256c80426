using System.Collections.Concurrent;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Cycles;

/// <summary>
/// The per-cycle side of service leases (ADR 0137). Once a cycle has settled, each lease the sandbox holds is decided by its
/// agent's win: a winner's container is given the new bundle in place (<c>execution.resized</c>) and its new execution
/// records the same container; a loser's container is preempted — SIGTERM, SIGKILL after the grace, status
/// <see cref="ExecutionStatus.Preempted"/>, <c>execution.preempted</c> — while the cycle's winners already run. A new bundle
/// the engine cannot apply in place (memory below what the container uses) preempts the lease before the window starts,
/// and the window runs in a fresh container with the bundle that was won (ADR 0138). Charging is the cycle's as for any
/// win; a preempted lease lost, so nothing is refunded.
/// </summary>
public sealed class ServiceLeases(
    IDbContextFactory<CyAgentsDbContext> databases,
    DockerSandbox sandbox,
    ILogger<ServiceLeases> logger,
    TimeProvider? clock = null) : ICycleStep
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    // Preemptions of a cycle run beside its executions; the cycle waits for them after its executions.
    private readonly ConcurrentDictionary<long, Task> _preempting = new();

    public string Name => "leases";

    public Task BeforeClearingAsync(long cycle, CancellationToken ct) => Task.CompletedTask;

    public async Task AfterSettlementAsync(long cycle, IReadOnlyList<ExecutionRecord> executions, CancellationToken ct)
    {
        // One execution per agent per cycle (ADR 0075): the one that runs is the one still pending.
        var next = executions.Where(e => e.Status == ExecutionStatus.Pending).ToDictionary(e => e.AgentId, StringComparer.Ordinal);
        var losers = new List<LeaseView>();
        foreach (var lease in sandbox.Leases)
        {
            if (!next.TryGetValue(lease.AgentId, out var won))
            {
                losers.Add(lease);
                continue;
            }
            if (await sandbox.EndIfExitedAsync(lease.AgentId, ct) is { } exited)
            {
                // It stopped by itself between windows: its window was served; this cycle's win starts a fresh container.
                await RecordEndAsync(lease, exited, cycle, EventTypes.ExecutionEnded);
                continue;
            }
            try
            {
                if (won.Granted != lease.Bundle) await sandbox.ResizeAsync(lease.AgentId, won.Granted, ct);
                await RecordRenewedAsync(lease, won, cycle);
            }
            catch (DockerEngineException e)
            {
                logger.LogWarning("Lease of {AgentId} cannot take its new bundle {Bundle} in place ({Error}); it is preempted and {ExecutionId} runs in a fresh container",
                    lease.AgentId, won.Granted, e.Message, won.Id);
                // Awaited: the fresh container must not run beside the old one, whose memory is what the engine refused to cap.
                await PreemptAsync(lease, cycle,
                    $"its next bundle ({won.Granted}) could not be applied to the running container ({e.Message}); execution {won.Id} runs in a fresh container");
            }
        }
        if (losers.Count > 0)
            _preempting[cycle] = Task.WhenAll(losers.Select(l => PreemptAsync(l, cycle, $"its agent won no bundle in cycle {cycle}")));
    }

    public async Task AfterExecutionsAsync(long cycle, CancellationToken ct)
    {
        if (_preempting.TryRemove(cycle, out var preempting)) await preempting;
    }

    /// <summary>Ends every lease (the orchestrator stops): each is preempted with the grace, its record says why.</summary>
    public async Task EndAllAsync(string reason)
    {
        foreach (var pending in _preempting.Values) await pending;
        await Task.WhenAll(sandbox.Leases.Select(l => PreemptAsync(l, null, reason)));
    }

    private async Task PreemptAsync(LeaseView lease, long? cycle, string reason)
    {
        if (await sandbox.PreemptAsync(lease.AgentId, reason) is { } outcome)
            await RecordEndAsync(lease, outcome, cycle, EventTypes.ExecutionPreempted);
    }

    /// <summary>The lease's last record (Leased) takes its final status, with its event, in one unit of work.</summary>
    private async Task RecordEndAsync(LeaseView lease, ExecutionOutcome outcome, long? cycle, string eventType)
    {
        await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
        var record = await db.Set<ExecutionRecord>().SingleOrDefaultAsync(e => e.Id == lease.ExecutionId);
        if (record is null || record.Status != ExecutionStatus.Leased) return;
        record.Status = outcome.Status;
        record.ExitCode = outcome.ExitCode;
        record.EndedAt = outcome.EndedAt;
        record.Error = outcome.Error is { Length: > 2000 } cut ? cut[..2000] : outcome.Error;
        db.AddEvent(eventType, record.AgentId, cycle ?? record.Cycle, _clock.GetUtcNow(), new
        {
            executionId = record.Id, containerId = lease.ContainerId, status = record.Status.ToString(), exitCode = record.ExitCode, reason = record.Error,
        });
        await db.SaveChangesAsync(CancellationToken.None);
        logger.LogInformation("Lease of {AgentId} ended: {ExecutionId} is {Status} (exit {ExitCode}): {Reason}",
            lease.AgentId, record.Id, record.Status, record.ExitCode, record.Error);
    }

    /// <summary>The new execution records the container it will run in; a changed bundle is reported as a resize.</summary>
    private async Task RecordRenewedAsync(LeaseView lease, ExecutionRecord won, long cycle)
    {
        await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
        var record = await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == won.Id);
        record.ContainerId = lease.ContainerId;
        if (won.Granted != lease.Bundle)
            db.AddEvent(EventTypes.ExecutionResized, record.AgentId, cycle, _clock.GetUtcNow(), new
            {
                executionId = record.Id, previousExecutionId = lease.ExecutionId, containerId = lease.ContainerId,
                from = lease.Bundle.ToString(), to = won.Granted.ToString(),
            });
        await db.SaveChangesAsync(CancellationToken.None);
    }
}
