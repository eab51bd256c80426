using System.Data.Common;
using System.Globalization;

namespace CyAgents.Persistence.Schema;

/// <summary>
/// The <c>schema_version</c> table: one row per version the database went through (version, what changed, when).
/// The highest row is the database's version. Plain SQL that reads the same on SQLite and PostgreSQL.
/// </summary>
internal static class SchemaVersionTable
{
    public const string Name = "schema_version";

    // A table every CyAgents database has had since the first schema; its presence tells an unstamped
    // version-1 database from someone else's.
    public const string Landmark = "ledger_accounts";

    private const string Create = """
        CREATE TABLE IF NOT EXISTS schema_version (
            "Version" INTEGER NOT NULL PRIMARY KEY,
            "Description" TEXT NOT NULL,
            "AppliedAt" TEXT NOT NULL)
        """;

    /// <summary>The recorded version, or null when the table does not exist.</summary>
    public static async Task<int?> ReadAsync(DbConnection connection, DbTransaction? tx, bool postgres, CancellationToken ct)
    {
        if (!await TableExistsAsync(connection, tx, postgres, Name, ct)) return null;
        var max = await ScalarAsync(connection, tx, """SELECT MAX("Version") FROM schema_version""", ct);
        // An existing but empty table is a stamp interrupted before its row: treat it as no stamp.
        return max is null or DBNull ? null : Convert.ToInt32(max, CultureInfo.InvariantCulture);
    }

    /// <summary>Records a version (idempotent: a second stamp of the same version changes nothing).</summary>
    public static async Task StampAsync(DbConnection connection, DbTransaction tx, int version, string description, CancellationToken ct)
    {
        await CreateAsync(connection, tx, ct);
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = """
            INSERT INTO schema_version ("Version", "Description", "AppliedAt") VALUES (@version, @description, @appliedAt)
            ON CONFLICT ("Version") DO NOTHING
            """;
        Add(command, "@version", version);
        Add(command, "@description", description);
        Add(command, "@appliedAt", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Creates the table if absent.</summary>
    public static Task CreateAsync(DbConnection connection, DbTransaction tx, CancellationToken ct) => ExecuteAsync(connection, tx, Create, ct);

    /// <summary>True when the schema holds any table (SQLite: the file; PostgreSQL: the connection's current schema).</summary>
    public static async Task<bool> HasTablesAsync(DbConnection connection, DbTransaction? tx, bool postgres, CancellationToken ct) =>
        Convert.ToInt64(await ScalarAsync(connection, tx, postgres
            ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", ct), CultureInfo.InvariantCulture) > 0;

    public static async Task<bool> TableExistsAsync(DbConnection connection, DbTransaction? tx, bool postgres, string table, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = postgres
            ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = @name"
            : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @name";
        Add(command, "@name", table);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) > 0;
    }

    public static async Task ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(ct);
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
