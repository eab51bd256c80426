using CyAgents.Persistence.Schema;
using Npgsql;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>
/// The PostgreSQL half of a schema-upgrade test: a v1 database, made as that code made it, must upgrade to the tables a new database
/// gets. Every migration's test states only what its version changed; the server, the two databases and their clean-up live here.
/// </summary>
internal static class PostgresUpgrade
{
    /// <summary>
    /// Makes two throwaway databases named after <paramref name="prefix"/>: "old" is today's model with <paramref name="v1Statements"/>
    /// run on it (they take away what later versions add, and may insert v1 rows) and no version stamp; "new" is empty. Both go through
    /// <c>DatabaseSetup.EnsureCreatedAsync</c>; the old one must reach the
    /// current version with each table described as in the new one (at least <c>AtLeast</c> + 1 lines, so an empty description cannot
    /// pass). <paramref name="onUpgraded"/> then uses the upgraded database; both are dropped whatever happens.
    /// </summary>
    public static async Task MatchesFreshAsync(string prefix, IReadOnlyList<string> v1Statements,
        IReadOnlyList<(string Table, int AtLeast)> tables, Func<CyAgentsDbContext, Task> onUpgraded)
    {
        var admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: `export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`.");
        var old = $"cyagents_{prefix}_old_" + Guid.NewGuid().ToString("N");
        var fresh = $"cyagents_{prefix}_new_" + Guid.NewGuid().ToString("N");
        DatabaseOptions Of(string name) => DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{old}\"");
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{fresh}\"");
        try
        {
            await using (var db = new CyAgentsDbContext(Of(old).BuildOptions())) await db.Database.EnsureCreatedAsync();
            foreach (var statement in v1Statements) await PostgresTable.ExecuteAsync(Of(old).ConnectionString, statement);

            await DatabaseSetup.EnsureCreatedAsync(Of(old));
            await DatabaseSetup.EnsureCreatedAsync(Of(fresh));

            (await DatabaseSetup.ReadVersionAsync(Of(old))).ShouldBe(SchemaMigrations.Current);
            foreach (var (table, atLeast) in tables)
                (await PostgresTable.DescribeAsync(Of(old).ConnectionString, table, atLeast))
                    .ShouldBe(await PostgresTable.DescribeAsync(Of(fresh).ConnectionString, table, atLeast), $"table {table}");
            await using var upgraded = new CyAgentsDbContext(Of(old).BuildOptions());
            await onUpgraded(upgraded);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)");
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{fresh}\" WITH (FORCE)");
        }
    }
}
