using CyAgents.Contracts;
using CyAgents.SystemApi.Tests.Infrastructure;
using Npgsql;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// A spawn whose transaction the database rolls back with a serialization failure (40001) is run again by the writer,
/// under a new child id (issue 9 item 9, ADR 0077): the copy the first attempt staged must not stay behind. The failure is
/// PostgreSQL's own, raised once by a trigger on CYAGENTS_TEST_POSTGRES (fails without it).
/// </summary>
public sealed class SpawnRetryTests() : ThrowawayPostgresDatabase("cyagents_spawnretry_")
{
    [Fact]
    public async Task A_spawn_retried_after_a_serialization_failure_leaves_one_workspace_and_no_staged_copy()
    {
        await using var api = Host();
        var token = await api.AgentTokenAsync("genesis", 1000);
        await using (var conn = new NpgsqlConnection(Connection))
        {
            await conn.OpenAsync();
            // A sequence is not rolled back with the failed transaction, so the trigger fails the first insert only.
            await using var cmd = new NpgsqlCommand("""
                CREATE SEQUENCE spawn_attempts;
                CREATE FUNCTION fail_first_spawn() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF nextval('spawn_attempts') = 1 THEN RAISE EXCEPTION 'forced serialization failure' USING ERRCODE = '40001'; END IF;
                  RETURN NEW;
                END $$;
                CREATE TRIGGER fail_first_spawn BEFORE INSERT ON agents FOR EACH ROW EXECUTE FUNCTION fail_first_spawn();
                """, conn);
            await cmd.ExecuteNonQueryAsync();
        }

        var spawned = await api.TypedClient(token).SpawnAsync(new SpawnRequest("scout", 300, null));

        await using (var conn = new NpgsqlConnection(Connection))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT last_value FROM spawn_attempts", conn);
            ((long)(await cmd.ExecuteScalarAsync())!).ShouldBe(2, "the first attempt was rolled back and retried");
        }
        Directory.EnumerateFileSystemEntries(api.WorkspacesRoot).Select(Path.GetFileName).Order()
            .ShouldBe(new[] { "genesis", spawned.Agent.Id }.Order(), "one workspace for the child and no staged copy left");
        (await api.AvailableAsync("genesis")).ShouldBe(1000 - 300 - 10, "charged once");
    }
}
