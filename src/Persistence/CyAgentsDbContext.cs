using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence;

/// <summary>
/// The one EF Core model of CyAgents (ledger, agents, bids, cycles, executions, prompts, tokens).
/// Each concept adds its tables through an <see cref="IEntityTypeConfiguration{TEntity}"/> in its own folder;
/// they are all picked up here, so the context itself never needs editing. Use <c>Set&lt;T&gt;()</c> for access.
/// </summary>
public sealed class CyAgentsDbContext(DbContextOptions<CyAgentsDbContext> options) : DbContext(options)
{
    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(CyAgentsDbContext).Assembly);
}
