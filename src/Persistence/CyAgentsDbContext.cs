using CyAgents.Persistence.Events;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence;

/// <summary>
/// The one EF Core model of CyAgents (ledger, agents, bids, cycles, executions, prompts, tokens).
/// Each concept adds its tables through an <see cref="IEntityTypeConfiguration{TEntity}"/> in its own folder;
/// they are all picked up here, so the context itself never needs editing. Use <c>Set&lt;T&gt;()</c> for access.
/// On PostgreSQL a save that adds events takes the event-order lock first (<see cref="EventOrder"/>, ADR 0131).
/// </summary>
public sealed class CyAgentsDbContext(DbContextOptions<CyAgentsDbContext> options) : DbContext(options)
{
    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(CyAgentsDbContext).Assembly);

    /// <inheritdoc />
    public override int SaveChanges(bool acceptAllChangesOnSuccess) =>
        EventOrder.Needed(this) ? EventOrder.Save(this, () => base.SaveChanges(false), acceptAllChangesOnSuccess)
            : base.SaveChanges(acceptAllChangesOnSuccess);

    /// <inheritdoc />
    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default) =>
        EventOrder.Needed(this)
            ? EventOrder.SaveAsync(this, () => base.SaveChangesAsync(false, cancellationToken), acceptAllChangesOnSuccess, cancellationToken)
            : base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
}
