using Npgsql;

namespace CyAgents.SystemApi.Tests.Infrastructure;

/// <summary>
/// A test class that gets a fresh PostgreSQL database on CYAGENTS_TEST_POSTGRES (created before, dropped after each test);
/// fails, never skips, when the variable is not set.
/// </summary>
public abstract class ThrowawayPostgresDatabase(string prefix) : IAsyncLifetime
{
    /// <summary>The server's admin connection string.</summary>
    protected string Admin { get; private set; } = "";

    /// <summary>The database made for this test.</summary>
    protected string Database { get; private set; } = "";

    /// <summary>The connection string of this test's database.</summary>
    protected string Connection => new NpgsqlConnectionStringBuilder(Admin) { Database = Database }.ConnectionString;

    /// <summary>The settings that put an API host on this test's database, on top of <paramref name="more"/>.</summary>
    protected Dictionary<string, string?> OnThisDatabase(IDictionary<string, string?>? more = null) =>
        new(more ?? new Dictionary<string, string?>()) { ["Database:Provider"] = "postgres", ["Database:ConnectionString"] = Connection };

    /// <summary>An API host on this test's database; several share it as the hosts behind one load balancer do.</summary>
    protected ApiFactory Host(IDictionary<string, string?>? more = null) => new(OnThisDatabase(more));

    public async Task InitializeAsync()
    {
        Admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES") ?? "";
        if (string.IsNullOrWhiteSpace(Admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: start a server with " +
                                                "`export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)` (scripts/test does this).");
        Database = prefix + Guid.NewGuid().ToString("N");
        await using var conn = new NpgsqlConnection(Admin);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{Database}\"", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (Database.Length == 0) return;
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(Admin);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Database}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
