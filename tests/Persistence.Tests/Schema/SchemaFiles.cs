using System.Security.Cryptography;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Copies of the v1 fixture, stamps, byte hashes and a structural dump of a SQLite schema.</summary>
internal static class SchemaFiles
{
    /// <summary>Made by the code before schema versions (611ada1): 3 cycles with won, lost and open bids, ledger transfers, prompts.</summary>
    public static string Fixture => Path.Combine(AppContext.BaseDirectory, "Fixtures", "v1-cyagents.db");

    public static string CopyOfFixture()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("cyagents-schema-").FullName, "cyagents.db");
        File.Copy(Fixture, path);
        return path;
    }

    /// <summary>
    /// A copy of the v1 fixture upgraded to the current version: first asserts that no line of its schema is one
    /// <paramref name="addedLater"/> names (so the upgrade is what makes them), then runs the production upgrade.
    /// </summary>
    public static async Task<(string Path, DatabaseOptions Options)> UpgradedCopyOfFixtureAsync(Func<string, bool> addedLater)
    {
        var path = CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);
        Describe(path).ShouldNotContain(l => addedLater(l));

        await DatabaseSetup.EnsureCreatedAsync(options);

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(SchemaMigrations.Current);
        return (path, options);
    }

    public static string NewFolderFile() => Path.Combine(Directory.CreateTempSubdirectory("cyagents-schema-").FullName, "cyagents.db");

    /// <summary>Records a version as a later CyAgents would have, then closes so nothing is left in a WAL.</summary>
    public static void StampAs(string path, int version)
    {
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            Execute(connection, """
                CREATE TABLE IF NOT EXISTS schema_version ("Version" INTEGER NOT NULL PRIMARY KEY, "Description" TEXT NOT NULL, "AppliedAt" TEXT NOT NULL);
                """);
            Execute(connection, $"INSERT INTO schema_version VALUES ({version}, 'from the future', '2030-01-01T00:00:00Z'); PRAGMA wal_checkpoint(TRUNCATE);");
        }
        SqliteConnection.ClearAllPools();
    }

    /// <summary>SHA-256 of the database file and of its -wal (or "absent").</summary>
    public static (string Db, string Wal) Hash(string path)
    {
        static string Of(string file) => File.Exists(file) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : "absent";
        return (Of(path), Of(path + "-wal"));
    }

    /// <summary>Tables with their columns and indexes, sorted; an added column's position does not count.</summary>
    public static IReadOnlyList<string> Describe(string path, bool withVersionTable = false)
    {
        var lines = new List<string>();
        using (var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            var tables = Query(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                .Select(r => (string)r[0]!).Where(t => withVersionTable || t != "schema_version").ToList();
            foreach (var table in tables)
            {
                foreach (var c in Query(connection, $"PRAGMA table_info(\"{table}\")"))
                    lines.Add($"{table}.{c[1]} {c[2]} notnull={c[3]} default={c[4]} pk={c[5]}");
                foreach (var i in Query(connection, $"PRAGMA index_list(\"{table}\")"))
                {
                    var columns = Query(connection, $"PRAGMA index_info(\"{i[1]}\")").Select(x => (string)x[2]!);
                    lines.Add($"{table} index {i[1]} unique={i[2]} ({string.Join(",", columns)})");
                }
            }
        }
        SqliteConnection.ClearAllPools();
        return lines.Order(StringComparer.Ordinal).ToList();
    }

    public static List<object?[]> Query(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
