using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Logging;
using System.Collections.Concurrent;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Identity;

/// <summary>A freshly issued agent token; <see cref="Token"/> exists only here and in the agent's env.json.</summary>
/// <param name="Token">The bearer token (256 random bits).</param>
/// <param name="AgentId">The agent it speaks for.</param>
/// <param name="ExecutionId">The execution it dies with.</param>
/// <param name="Cycle">The cycle of the execution.</param>
public sealed record IssuedAgentToken(string Token, string AgentId, string ExecutionId, long Cycle);

/// <summary>Who an accepted agent token speaks for.</summary>
/// <param name="AgentId">The agent.</param>
/// <param name="ExecutionId">The execution.</param>
/// <param name="Cycle">The cycle.</param>
public sealed record AgentTokenIdentity(string AgentId, string ExecutionId, long Cycle);

/// <summary>
/// Issues per-execution agent tokens and revokes them when the execution ends. The orchestrator calls
/// <see cref="IssueAsync"/> before launching a container and <see cref="RevokeExecutionAsync"/> after it exits.
/// </summary>
public sealed class AgentTokenService(IDbContextFactory<CyAgentsDbContext> databases, TimeProvider clock, ILogger<AgentTokenService> log,
    IOptions<SystemApiOptions>? options = null)
{
    // Accepted tokens are remembered briefly so each request does not cost a database read. Revocation through this
    // service drops them at once; a revocation by another host is seen within the cache time.
    private readonly ConcurrentDictionary<string, (AgentTokenIdentity Identity, long ExpiresAt)> _accepted = new(StringComparer.Ordinal);
    private long _revocations;
    private readonly long _cacheTicks = (options?.Value.TokenCacheMilliseconds ?? 2000) * clock.TimestampFrequency / 1000;

    /// <summary>Issues a token bound to the agent, the execution and the cycle; only its hash is stored.</summary>
    public async Task<IssuedAgentToken> IssueAsync(string agentId, string executionId, long cycle, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(agentId);
        ArgumentException.ThrowIfNullOrWhiteSpace(executionId);
        var token = TokenHash.NewToken();
        await using var db = await databases.CreateDbContextAsync(ct);
        db.Add(new AgentTokenRecord
        {
            TokenHash = TokenHash.Of(token),
            AgentId = agentId,
            ExecutionId = executionId,
            Cycle = cycle,
            IssuedAt = clock.GetUtcNow(),
        });
        await db.SaveChangesAsync(ct);
        using (log.BeginSystemScope(SystemLog.SystemApi, cycle, executionId, agentId))
            log.LogInformation("Agent token issued for agent {AgentId}, execution {ExecutionId}, cycle {Cycle}", agentId, executionId, cycle);
        return new IssuedAgentToken(token, agentId, executionId, cycle);
    }

    /// <summary>Revokes every token of an execution (called when it ends); returns how many were revoked.</summary>
    public async Task<int> RevokeExecutionAsync(string executionId, CancellationToken ct = default)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        var tokens = await db.Set<AgentTokenRecord>().Where(t => t.ExecutionId == executionId && t.RevokedAt == null).ToListAsync(ct);
        foreach (var t in tokens) t.RevokedAt = now;
        await db.SaveChangesAsync(ct);
        // Only once the revocation is stored: a validation that read the token before it then sees the counter move.
        Interlocked.Increment(ref _revocations);
        foreach (var entry in _accepted.Where(e => e.Value.Identity.ExecutionId == executionId).ToList())
            _accepted.TryRemove(entry);
        using (log.BeginSystemScope(SystemLog.SystemApi, tokens.FirstOrDefault()?.Cycle, executionId, tokens.FirstOrDefault()?.AgentId))
            log.LogInformation("Agent tokens of execution {ExecutionId} revoked ({Count})", executionId, tokens.Count);
        return tokens.Count;
    }

    /// <summary>The identity behind a token, or null when it is unknown or revoked.</summary>
    public async Task<AgentTokenIdentity?> ValidateAsync(string token, CancellationToken ct = default)
    {
        var hash = TokenHash.Of(token);
        var now = clock.GetTimestamp();
        if (_accepted.TryGetValue(hash, out var hit) && now < hit.ExpiresAt) return hit.Identity;
        var revocations = Volatile.Read(ref _revocations);
        await using var db = await databases.CreateDbContextAsync(ct);
        var identity = await db.Set<AgentTokenRecord>().AsNoTracking()
            .Where(t => t.TokenHash == hash && t.RevokedAt == null)
            .Select(t => new AgentTokenIdentity(t.AgentId, t.ExecutionId, t.Cycle))
            .FirstOrDefaultAsync(ct);
        if (identity is not null && _cacheTicks > 0)
        {
            _accepted[hash] = (identity, now + _cacheTicks);
            // A revocation stored while this read was under way may have been read too late; do not remember it then.
            if (Volatile.Read(ref _revocations) != revocations) _accepted.TryRemove(hash, out _);
        }
        else _accepted.TryRemove(hash, out _);
        return identity;
    }
}
