using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// The host uids agents run as (configuration <c>Sandbox:UidRange</c>, ADR 0071): <see cref="First"/> up to
/// <see cref="First"/> + <see cref="Count"/> - 1. The default starts far above the uids of a host's own users and system
/// accounts and above the image's built-in 10001.
/// </summary>
public sealed record UidRange
{
    public int First { get; init; } = 200_000;
    public int Count { get; init; } = 100_000;

    /// <summary>What is wrong, each message naming its key below <c>Sandbox</c>; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        // Below 65536 live the host's own users and system accounts (and the image's 10001); an agent must be none of them.
        if (First < 65_536) errors.Add($"UidRange:First must be at least 65536, above the host's own users (got {First})");
        if (Count < 1) errors.Add($"UidRange:Count must be at least 1 (got {Count})");
        // 2^31 - 1 and above are not valid uids everywhere (and 4294967295 is "no uid").
        else if ((long)First + Count > int.MaxValue) errors.Add($"UidRange:First + UidRange:Count must not pass {int.MaxValue} (got {(long)First + Count})");
        return errors;
    }
}

/// <summary>No uid is left in the configured range for a new agent.</summary>
public sealed class UidRangeExhaustedException(UidRange range)
    : Exception($"every uid of Sandbox:UidRange ({range.First}..{range.First + range.Count - 1}) is taken; widen the range to run new agents");

/// <summary>
/// Gives each agent its own host uid once, at its first execution, and keeps it in <c>agent_uids</c>. A new agent gets one
/// above the highest uid ever given, so a uid is never reused, even after its agent retired.
/// </summary>
public sealed class AgentUids(IDbContextFactory<CyAgentsDbContext> databases, UidRange range, TimeProvider? clock = null)
{
    // Executions of one cycle launch concurrently: assignments in this process take turns (the unique index backs it).
    private readonly SemaphoreSlim _assigning = new(1, 1);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public UidRange Range => range;

    /// <summary>The uid of <paramref name="agentId"/>, assigned now when it has none.</summary>
    public async Task<int> ForAsync(string agentId, CancellationToken ct = default)
    {
        await using (var db = await databases.CreateDbContextAsync(ct))
        {
            var known = await db.Set<AgentUidRecord>().Where(u => u.AgentId == agentId).Select(u => (int?)u.Uid).FirstOrDefaultAsync(ct);
            if (known is { } uid) return uid;
        }
        await _assigning.WaitAsync(ct);
        try
        {
            await using var db = await databases.CreateDbContextAsync(ct);
            var known = await db.Set<AgentUidRecord>().Where(u => u.AgentId == agentId).Select(u => (int?)u.Uid).FirstOrDefaultAsync(ct);
            if (known is { } uid) return uid;
            var highest = await db.Set<AgentUidRecord>().MaxAsync(u => (int?)u.Uid, ct);
            var next = highest is { } h && h >= range.First ? h + 1 : range.First;
            if ((long)next >= (long)range.First + range.Count) throw new UidRangeExhaustedException(range);
            db.Add(new AgentUidRecord { AgentId = agentId, Uid = next, AssignedAt = _clock.GetUtcNow() });
            await db.SaveChangesAsync(ct);
            return next;
        }
        finally
        {
            _assigning.Release();
        }
    }
}
