using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence;

/// <summary>Which database the model runs on. SQLite (WAL) by default; PostgreSQL by configuration.</summary>
public sealed record DatabaseOptions
{
    /// <summary>Configuration section name (<c>Database</c>).</summary>
    public const string Section = "Database";

    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; init; } = "sqlite";

    /// <summary>ADO.NET connection string; for SQLite, e.g. <c>Data Source=data/cyagents.db</c>.</summary>
    public string ConnectionString { get; init; } = "Data Source=data/cyagents.db";

    /// <summary>SQLite options for a database file.</summary>
    public static DatabaseOptions ForSqliteFile(string path) => new() { Provider = "sqlite", ConnectionString = $"Data Source={path}" };

    /// <summary>PostgreSQL options for a connection string.</summary>
    public static DatabaseOptions ForPostgres(string connectionString) => new() { Provider = "postgres", ConnectionString = connectionString };

    /// <summary>True for PostgreSQL.</summary>
    public bool IsPostgres => Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase) ||
                              Provider.Equals("postgresql", StringComparison.OrdinalIgnoreCase);

    /// <summary>Applies the provider to an options builder.</summary>
    public void Apply(DbContextOptionsBuilder builder)
    {
        if (IsPostgres)
        {
            builder.UseNpgsql(ConnectionString);
            return;
        }
        if (!Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Unknown database provider '{Provider}': use 'sqlite' or 'postgres'.");
        var csb = new SqliteConnectionStringBuilder(ConnectionString)
        {
            // Writers wait for each other instead of failing with SQLITE_BUSY.
            DefaultTimeout = 30,
            Pooling = true,
        };
        builder.UseSqlite(csb.ToString());
        builder.AddInterceptors(SqliteConnectionPragmas.Instance);
    }

    /// <summary>Builds context options for this database.</summary>
    public DbContextOptions<CyAgentsDbContext> BuildOptions()
    {
        var builder = new DbContextOptionsBuilder<CyAgentsDbContext>();
        Apply(builder);
        return builder.Options;
    }
}
