using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;

namespace CyAgents.SystemApi.Hosting;

/// <summary>The ledger used when the host registers no <see cref="LedgerBinding"/>: the EF Core ledger on the request's context.</summary>
internal static class DefaultLedger
{
    public static LedgerBinding Binding(IServiceProvider services) => db => new EfLedger(db);
}

/// <summary>A ledger bound to a context for one unit of work; disposing it releases the ledger's prepared commands.</summary>
public readonly struct BoundLedger(ILedger ledger) : IAsyncDisposable
{
    /// <summary>The ledger.</summary>
    public ILedger Ledger { get; } = ledger;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Ledger is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
}

/// <summary>Binding helpers.</summary>
public static class LedgerBindingExtensions
{
    /// <summary>Binds the ledger to <paramref name="db"/>; use with <c>await using</c>.</summary>
    public static BoundLedger Bind(this LedgerBinding binding, CyAgentsDbContext db) => new(binding(db));
}
