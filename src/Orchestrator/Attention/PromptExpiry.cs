using CyAgents.Orchestrator.Cycles;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Attention;

/// <summary>
/// Expires the prompts the human left unanswered for <see cref="PromptExpiryOptions.ExpireAfterCycles"/> cycles, before
/// each clearing (ADR 0135): status Expired, <c>prompt.expired</c> for the asking agent, in the same transaction. The
/// attention they cost is not given back: it was that execution's share of the human in its cycle, and that cycle is over.
/// Idempotent per cycle: a second run finds nothing pending that old.
/// </summary>
public sealed class PromptExpiry(IDbContextFactory<CyAgentsDbContext> databases, PromptExpiryOptions options, TimeProvider clock,
    ILogger<PromptExpiry> logger) : ICycleStep
{
    // One transaction per batch keeps each short (the API's writer waits for it on SQLite); the loop still expires all.
    private const int Batch = 500;

    /// <inheritdoc />
    public string Name => "prompt-expiry";

    /// <inheritdoc />
    public async Task BeforeClearingAsync(long cycle, CancellationToken ct)
    {
        var askedBefore = cycle - options.ExpireAfterCycles;
        var expired = 0;
        while (true)
        {
            var (read, count) = await ExpireBatchAsync(cycle, askedBefore, ct);
            expired += count;
            if (read < Batch) break;
        }
        if (expired > 0)
            logger.LogInformation("Expired {Count} prompts left unanswered since before cycle {Cycle}", expired, askedBefore);
    }

    /// <inheritdoc />
    public Task AfterExecutionsAsync(long cycle, CancellationToken ct) => Task.CompletedTask;

    private async Task<(int Read, int Expired)> ExpireBatchAsync(long cycle, long askedBefore, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var due = await db.Set<PromptRecord>().AsNoTracking()
            .Where(p => p.Status == PromptStatus.Pending && p.Cycle < askedBefore)
            .OrderBy(p => p.Id).Select(p => new { p.Id, p.AgentId, p.ExecutionId, p.Cycle, p.Attention }).Take(Batch).ToListAsync(ct);
        var now = clock.GetUtcNow();
        var count = 0;
        foreach (var p in due)
        {
            // Conditional, so an answer committed since the read above wins and this prompt is left alone.
            var changed = await db.Set<PromptRecord>().Where(x => x.Id == p.Id && x.Status == PromptStatus.Pending)
                .ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, PromptStatus.Expired).SetProperty(x => x.ExpiredCycle, cycle), ct);
            if (changed != 1) continue;
            db.AddEvent(EventTypes.PromptExpired, p.AgentId, cycle, now,
                new { promptId = p.Id, executionId = p.ExecutionId, askedInCycle = p.Cycle, attention = p.Attention });
            count++;
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return (due.Count, count);
    }
}
