using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence;

/// <summary>
/// Creates the schema on first use. EF Core's design-time tools cannot restore here, so the schema comes
/// from <c>EnsureCreated</c> (see docs/adr); SQLite files are switched to WAL so readers never block the writer.
/// </summary>
public static class DatabaseSetup
{
    /// <summary>Creates the database and schema if absent; sets WAL on SQLite.</summary>
    public static async Task EnsureCreatedAsync(DatabaseOptions options, CancellationToken ct = default)
    {
        if (!options.IsPostgres)
        {
            var path = new SqliteConnectionStringBuilder(options.ConnectionString).DataSource;
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        }
        await using var db = new CyAgentsDbContext(options.BuildOptions());
        await db.Database.EnsureCreatedAsync(ct);
        if (!options.IsPostgres)
        {
            // WAL is a property of the file: set once, every later connection uses it. The per-connection
            // settings (synchronous, busy timeout) are applied on every open by SqliteConnectionPragmas.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        }
    }
}
