using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// Whether an agent may still act. A retired agent keeps its record and account (others may read them) but may not bid,
/// spawn or ask the human; its token, if one is still alive, is refused with 403 <c>agent_retired</c> for these writes
/// (ADR 0136). Retirement is final: nothing in the API brings an agent back.
/// </summary>
internal static class AgentStanding
{
    /// <summary>The refusal for a retired (or unknown) agent, read inside the write's transaction; null when it may act.</summary>
    public static async Task<Refusal?> RetiredAsync(CyAgentsDbContext db, string agentId, string action, CancellationToken ct)
    {
        var status = await db.Set<AgentRecord>().Where(a => a.Id == agentId).Select(a => (AgentStatus?)a.Status).FirstOrDefaultAsync(ct);
        return status switch
        {
            null => Refusal.NotFound($"the calling agent '{agentId}' has no record"),
            AgentStatus.Retired => new Refusal(ErrorCodes.AgentRetired, $"agent '{agentId}' is retired; a retired agent may not {action}"),
            _ => null,
        };
    }
}
