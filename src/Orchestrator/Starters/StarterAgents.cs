using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Endpoints;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Starters;

/// <summary>What <see cref="StarterAgents.EnsureAsync"/> did: the agents it created and how many existed already.</summary>
public sealed record StartersOutcome(IReadOnlyList<AgentRecord> Created, int Existing, string? NotCreatedBecause);

/// <summary>
/// The template agents `run --starters N` adds to a new economy (ADR 0140): N root agents from one template folder, each
/// endowed from the treasury by <see cref="AgentCreation"/> — the same path `agents create` takes (ADR 0102) — and named
/// <c>&lt;folder&gt;-1</c> … <c>&lt;folder&gt;-N</c>. Only before the first cycle: an economy that has run is never handed
/// new agents behind the operator's back. A name that exists is skipped, so a start that crashed half-way is completed by
/// the next one and a second start adds nobody.
/// </summary>
public sealed class StarterAgents(IDbContextFactory<CyAgentsDbContext> databases, LedgerBinding ledgers, WorkspaceTemplate workspaces,
    ManifestMinimums minimums, TimeProvider clock)
{
    /// <summary>Most starters one run may ask for: each is a container every cycle it wins.</summary>
    public const int MaxCount = 100;

    /// <summary>The starters' names for a template folder.</summary>
    public static IEnumerable<string> NamesFor(string template, int count) =>
        Enumerable.Range(1, count).Select(i => $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(template))}-{i}");

    /// <summary>Creates the missing starters, each in its own transaction, its workspace moved into place after commit.</summary>
    /// <exception cref="AgentManifestException">The template's manifest is not valid (checked before anything is written).</exception>
    public async Task<StartersOutcome> EnsureAsync(string template, int count, long endowment, CancellationToken ct)
    {
        var folder = Path.GetFullPath(template);
        AgentManifestReader.ReadFolder(folder, minimums);
        await using var db = await databases.CreateDbContextAsync(ct);
        var names = NamesFor(folder, count).ToList();
        var existing = await db.Set<AgentRecord>().CountAsync(a => names.Contains(a.Name), ct);
        if (await db.Set<CycleRecord>().AnyAsync(ct))
            return new StartersOutcome([], existing, existing == names.Count ? null : "the economy has run cycles already; starters join a new one only");
        var created = new List<AgentRecord>();
        foreach (var name in names)
        {
            if (await db.Set<AgentRecord>().AnyAsync(a => a.Name == name, ct)) continue;
            WorkspaceTemplate.Staged? staged = null;
            try
            {
                await using var tx = await db.Database.BeginTransactionAsync(ct);
                var (agent, refusal) = await AgentCreation.CreateAsync(db, ledgers(db), workspaces, new CreateAgentRequest(name, endowment, folder),
                    minimums, 0, clock.GetUtcNow(), s => staged = s, ct);
                if (refusal is not null)
                    throw new StarterRefusedException($"starter {name} was refused: {refusal.Message}" +
                        (refusal.Fields is { Count: > 0 } f ? $" ({string.Join("; ", f.Select(kv => $"{kv.Key}: {string.Join(", ", kv.Value)}"))})" : ""));
                await db.SaveChangesAsync(ct);
                await tx.CommitAsync(ct);
                staged!.Commit();
                created.Add(agent!);
            }
            finally
            {
                staged?.Dispose();
            }
        }
        return new StartersOutcome(created, names.Count - created.Count, null);
    }
}

/// <summary>Creating a starter was refused (its template, its endowment); nothing of that starter was written.</summary>
public sealed class StarterRefusedException(string message) : Exception(message);
