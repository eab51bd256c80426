using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace CyAgents.Orchestrator.Hosting;

/// <summary>
/// The data folder or the database refused a write: the disk is full, the file system or the database is read-only, or
/// another process holds the database's lock (ADR 0087). Every write of a cycle is one transaction, so the refused write
/// left nothing behind; the run stops and the next start's recovery repairs the interrupted cycle once the cause is gone.
/// </summary>
public sealed class StorageFailedException(string reason, Exception inner) : Exception(reason, inner)
{
    // SQLite primary result codes (sqlite3.h).
    private const int SqliteBusy = 5, SqliteLocked = 6, SqliteReadOnly = 8, SqliteIoError = 10, SqliteFull = 13, SqliteCantOpen = 14;
    // Linux errno values an IOException carries as its HResult.
    private const int NoSpace = 28, ReadOnlyFileSystem = 30, QuotaExceeded = 122;

    /// <summary>
    /// The storage failure somewhere in <paramref name="e"/>'s chain (EF wraps the provider's error in its own), described in
    /// words an operator can act on; null when <paramref name="e"/> is not one.
    /// </summary>
    public static StorageFailedException? From(Exception e)
    {
        foreach (var cause in Chain(e))
        {
            var reason = cause switch
            {
                StorageFailedException s => s.Message,
                SqliteException { SqliteErrorCode: SqliteFull } => "the disk holding the database is full",
                SqliteException { SqliteErrorCode: SqliteReadOnly } => "the database or its folder is read-only",
                SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked } => "the database is locked by another process",
                SqliteException { SqliteErrorCode: SqliteIoError } => "the database file cannot be written",
                // A WAL database on a read-only file system cannot even be opened: its shared-memory file must be writable.
                SqliteException { SqliteErrorCode: SqliteCantOpen } => "the database cannot be opened for writing (its folder is read-only, gone or not permitted)",
                // PostgreSQL's SQLSTATE classes: 53 insufficient resources (53100 disk full), 25006 read-only transaction.
                DbException { SqlState: ['5', '3', ..] } => "the database server is out of disk or memory",
                DbException { SqlState: "25006" } => "the database server is read-only",
                IOException { HResult: NoSpace or QuotaExceeded } => "the disk holding the data folder is full",
                IOException { HResult: ReadOnlyFileSystem } => "the data folder is on a read-only file system",
                _ => null,
            };
            if (reason is null) continue;
            var detail = cause is StorageFailedException ? "" : $" ({cause.Message.Split('\n')[0].Trim()})";
            return cause as StorageFailedException ?? new StorageFailedException(reason + detail, e);
        }
        return null;
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        var pending = new Stack<Exception>([e]);
        while (pending.TryPop(out var next))
        {
            yield return next;
            if (next is AggregateException aggregate) foreach (var inner in aggregate.InnerExceptions) pending.Push(inner);
            else if (next.InnerException is { } inner) pending.Push(inner);
        }
    }
}
