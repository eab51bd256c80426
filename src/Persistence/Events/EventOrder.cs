using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace CyAgents.Persistence.Events;

/// <summary>
/// Makes event sequence numbers become visible in their order on PostgreSQL (ADR 0131). An identity value is taken at
/// insert time, but transactions commit in any order: a reader past seq 11 would never see a seq 10 committed later.
/// So every transaction that inserts events first locks one row — the ledger's sequence row, which every ledger write
/// locks first anyway — and holds it to its commit: event writers run one at a time from their first event to their
/// commit, hence their ids commit in order. One lock for both keeps the lock order the same everywhere (no deadlock
/// between a ledger write and an event save). SQLite needs nothing: it has one writer at a time.
/// </summary>
public static class EventOrder
{
    /// <summary>The statement that takes the lock, inside the caller's transaction.</summary>
    public const string LockSql = "SELECT value FROM ledger_sequence WHERE id = 1 FOR UPDATE";

    /// <summary>True when <paramref name="db"/> is on PostgreSQL and its pending changes add events.</summary>
    public static bool Needed(DbContext db)
    {
        if (!db.Database.IsNpgsql()) return false;
        foreach (var e in db.ChangeTracker.Entries<EventRecord>())
            if (e.State == EntityState.Added) return true;
        return false;
    }

    /// <summary>Takes the lock in the current transaction (which must exist).</summary>
    public static async Task LockAsync(DbContext db, CancellationToken ct) =>
        await db.Database.ExecuteSqlRawAsync(LockSql, ct);

    internal static async Task<int> SaveAsync(DbContext db, Func<Task<int>> save, bool acceptAll, CancellationToken ct)
    {
        var own = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
        try
        {
            await LockAsync(db, ct);
            var rows = await save();
            if (own is not null) await own.CommitAsync(ct);
            if (acceptAll) db.ChangeTracker.AcceptAllChanges();
            return rows;
        }
        finally
        {
            if (own is not null) await own.DisposeAsync();
        }
    }

    internal static int Save(DbContext db, Func<int> save, bool acceptAll)
    {
        using var own = db.Database.CurrentTransaction is null ? db.Database.BeginTransaction() : null;
        db.Database.ExecuteSqlRaw(LockSql);
        var rows = save();
        own?.Commit();
        if (acceptAll) db.ChangeTracker.AcceptAllChanges();
        return rows;
    }
}
