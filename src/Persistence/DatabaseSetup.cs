using System.Data.Common;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace CyAgents.Persistence;

/// <summary>
/// Brings a database to the schema version this build knows (<see cref="SchemaMigrations.Current"/>): a new, empty
/// database is created from the EF model and stamped; one made before versions were recorded is stamped version 1;
/// an older one is upgraded step by step, each step in one transaction with its version bump; a newer one is refused
/// (<see cref="SchemaVersionException"/>) before anything is written. EF Core's design-time tools cannot restore here,
/// so the steps are hand-written (docs/adr/0063). SQLite files are switched to WAL so readers never block the writer.
/// </summary>
public static class DatabaseSetup
{
    /// <summary>Creates, stamps or upgrades the schema to the current version; sets WAL on SQLite.</summary>
    /// <exception cref="SchemaVersionException">The database is newer than this build, or not a CyAgents database.</exception>
    public static Task EnsureCreatedAsync(DatabaseOptions options, CancellationToken ct = default) =>
        EnsureCreatedAsync(options, SchemaMigrations.All, ct);

    /// <summary>The same, with a list of steps of the caller's (tests prove the upgrade path with their own steps).</summary>
    internal static async Task EnsureCreatedAsync(DatabaseOptions options, IReadOnlyList<SchemaMigration> steps, CancellationToken ct = default)
    {
        var current = SchemaMigrations.CurrentOf(steps);
        // Refuse a newer database through a read-only connection first: opening it for writing could already
        // change the file (a WAL left by another build is checkpointed when the last writer closes).
        await CheckVersionAsync(options, current, ct);
        if (!options.IsPostgres)
        {
            var path = new SqliteConnectionStringBuilder(options.ConnectionString).DataSource;
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        }
        await using var db = new CyAgentsDbContext(options.BuildOptions());
        await db.Database.OpenConnectionAsync(ct);
        var connection = db.Database.GetDbConnection();
        var postgres = options.IsPostgres;

        var version = await SchemaVersionTable.ReadAsync(connection, null, postgres, ct);
        if (version is null)
        {
            if (await SchemaVersionTable.HasTablesAsync(connection, null, postgres, ct))
            {
                if (!await SchemaVersionTable.TableExistsAsync(connection, null, postgres, SchemaVersionTable.Landmark, ct))
                    throw new SchemaVersionException(
                        $"{Describe(options)} holds tables but none of CyAgents' (no {SchemaVersionTable.Landmark}): point Database:ConnectionString (or run --db) at a CyAgents database or an empty one; nothing was changed");
                // Made before versions were recorded: that schema is version 1 by definition.
                version = SchemaMigrations.Baseline;
                await InTransactionAsync(db, postgres, tx => SchemaVersionTable.StampAsync(connection, tx, version.Value,
                    "baseline: the schema before versions were recorded", ct), ct);
            }
            else
            {
                await db.Database.EnsureCreatedAsync(ct);
                version = current;
                await InTransactionAsync(db, postgres, tx => SchemaVersionTable.StampAsync(connection, tx, current,
                    "created from the model", ct), ct);
            }
        }
        if (version < SchemaMigrations.Baseline)
            throw new SchemaVersionException($"{Describe(options)} has schema version {version}, which no CyAgents release upgrades from; nothing was changed");

        foreach (var step in steps.Where(s => s.Version > version))
        {
            await InTransactionAsync(db, postgres, async tx =>
            {
                // Another host may have upgraded meanwhile (PostgreSQL: the table lock makes us wait for it).
                var now = await SchemaVersionTable.ReadAsync(connection, tx, postgres, ct) ?? SchemaMigrations.Baseline;
                if (now > current) throw TooNew(options, now, current);
                if (now >= step.Version) return;
                foreach (var sql in step.For(options))
                    await SchemaVersionTable.ExecuteAsync(connection, tx, sql, ct);
                await SchemaVersionTable.StampAsync(connection, tx, step.Version, step.Description, ct);
            }, ct);
        }

        if (!postgres)
        {
            // WAL is a property of the file: set once, every later connection uses it. The per-connection
            // settings (synchronous, busy timeout) are applied on every open by SqliteConnectionPragmas.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        }
    }

    /// <summary>
    /// Refuses a database whose schema is newer than this build, without writing anything (SQLite: through a
    /// read-only connection; a missing file is not created). Older and unstamped databases pass: they are upgraded
    /// by <see cref="EnsureCreatedAsync(DatabaseOptions, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="SchemaVersionException">The database is newer than this build.</exception>
    public static Task CheckVersionAsync(DatabaseOptions options, CancellationToken ct = default) =>
        CheckVersionAsync(options, SchemaMigrations.Current, ct);

    /// <summary>The database's recorded schema version: null when none is recorded (new, or made before versions were).</summary>
    public static async Task<int?> ReadVersionAsync(DatabaseOptions options, CancellationToken ct = default)
    {
        await using var connection = await OpenForReadingAsync(options, ct);
        return connection is null ? null : await SchemaVersionTable.ReadAsync(connection, null, options.IsPostgres, ct);
    }

    private static async Task CheckVersionAsync(DatabaseOptions options, int current, CancellationToken ct)
    {
        if (await ReadVersionAsync(options, ct) is { } found && found > current) throw TooNew(options, found, current);
    }

    private static async Task<DbConnection?> OpenForReadingAsync(DatabaseOptions options, CancellationToken ct)
    {
        DbConnection connection;
        if (options.IsPostgres)
            connection = new NpgsqlConnection(options.ConnectionString);
        else
        {
            var csb = new SqliteConnectionStringBuilder(options.ConnectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false };
            var path = Path.GetFullPath(csb.DataSource);
            if (!File.Exists(path)) return null;
            // Even a read-only connection leaves an empty -wal behind on a WAL file. With no (or an empty) WAL the
            // main file is the whole database, so read it as immutable: no -wal, no -shm, no lock, no byte written.
            var wal = new FileInfo(path + "-wal");
            if (!wal.Exists || wal.Length == 0) csb.DataSource = new Uri(path).AbsoluteUri + "?immutable=1";
            connection = new SqliteConnection(csb.ToString());
        }
        await connection.OpenAsync(ct);
        return connection;
    }

    private static async Task InTransactionAsync(CyAgentsDbContext db, bool postgres, Func<DbTransaction, Task> work, CancellationToken ct)
    {
        // SQLite: BEGIN IMMEDIATE (the Microsoft.Data.Sqlite default) takes the write lock up front, so upgraders queue.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var dbTx = tx.GetDbTransaction();
        if (postgres)
        {
            // Hosts starting together on one server take turns: the second sees the first's version and skips.
            await SchemaVersionTable.CreateAsync(dbTx.Connection!, dbTx, ct);
            await SchemaVersionTable.ExecuteAsync(dbTx.Connection!, dbTx, "LOCK TABLE schema_version IN EXCLUSIVE MODE", ct);
        }
        await work(dbTx);
        await tx.CommitAsync(ct);
    }

    private static SchemaVersionException TooNew(DatabaseOptions options, int found, int current) => new(
        $"{Describe(options)} has schema version {found}, newer than this CyAgents knows ({current}): upgrade CyAgents to a release that knows version {found}; nothing was changed");

    private static string Describe(DatabaseOptions options) => options.IsPostgres
        ? $"the PostgreSQL database '{new NpgsqlConnectionStringBuilder(options.ConnectionString).Database}'"
        : $"the database {new SqliteConnectionStringBuilder(options.ConnectionString).DataSource}";
}
