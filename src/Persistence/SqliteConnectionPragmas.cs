using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CyAgents.Persistence;

/// <summary>
/// Sets the per-connection SQLite settings every time EF opens a connection: WAL is a property of the file,
/// but <c>synchronous</c> and the busy timeout belong to each connection and are lost with it.
/// </summary>
internal sealed class SqliteConnectionPragmas : DbConnectionInterceptor
{
    /// <summary>The one instance (stateless).</summary>
    public static SqliteConnectionPragmas Instance { get; } = new();

    // synchronous=NORMAL: in WAL mode a commit is durable against process crashes and needs no fsync per commit.
    // busy_timeout: writers queue inside SQLite (short sleeps) instead of failing with "database is locked".
    internal const string Sql = "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private static void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection sqlite) return;
        using var command = sqlite.CreateCommand();
        command.CommandText = Sql;
        command.ExecuteNonQuery();
    }
}
