using CyAgents.Economy.Tasks;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 8 (tasks): the v1 fixture and a v1 PostgreSQL database upgrade to the tables today's model makes.</summary>
public sealed class TasksMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    private static readonly DateTimeOffset At = new(2026, 12, 1, 11, 0, 0, TimeSpan.Zero);

    private static TaskRecord Task(string id) => new()
    {
        Id = id, Title = "write hello.txt", Reward = 40, PostedCycle = 3, DeadlineCycle = 8, Verifier = VerifierKind.Command,
        VerifierRuntime = "python", VerifierCommandJson = "[\"python3\",\"-c\",\"pass\"]", EscrowTransferId = $"task:{id}:escrow", CreatedAt = At,
    };

    private static TaskSubmissionRecord Submission(string taskId) => new()
    {
        Id = "sub-1", TaskId = taskId, AgentId = "alice", Cycle = 4, Path = "out", Files = 1, Bytes = 5, CreatedAt = At,
    };

    [Fact]
    public async Task The_v1_fixture_upgrades_and_stores_tasks_and_submissions_next_to_its_old_rows()
    {
        var path = SchemaFiles.CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);
        SchemaFiles.Describe(path).ShouldNotContain(l => l.StartsWith("tasks.") || l.StartsWith("task_submissions."));

        await DatabaseSetup.EnsureCreatedAsync(options);

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(SchemaMigrations.Current);
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            db.Add(Task("tsk-1"));
            db.Add(Submission("tsk-1"));
            await db.SaveChangesAsync();
        }
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            (await db.Set<TaskRecord>().SingleAsync()).DeadlineCycle.ShouldBe(8);
            (await db.Set<TaskSubmissionRecord>().SingleAsync()).State.ShouldBe(SubmissionState.Pending);
            (await db.Set<AgentRecord>().CountAsync()).ShouldBe(3);
        }
        SchemaFiles.Describe(path).ShouldContain("tasks index IX_tasks_State_DeadlineCycle unique=0 (State,DeadlineCycle)");
    }

    [Fact]
    public async Task A_v1_postgres_database_upgrades_to_the_columns_a_new_database_gets()
    {
        var admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: `export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`.");
        var old = "cyagents_tasks_old_" + Guid.NewGuid().ToString("N");
        var fresh = "cyagents_tasks_new_" + Guid.NewGuid().ToString("N");
        DatabaseOptions Of(string name) => DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{old}\"");
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{fresh}\"");
        try
        {
            // Version 1 as it was: today's model without the tables version 8 adds, and no version stamp.
            await using (var db = new CyAgentsDbContext(Of(old).BuildOptions())) await db.Database.EnsureCreatedAsync();
            await PostgresTable.ExecuteAsync(Of(old).ConnectionString, "DROP TABLE task_submissions");
            await PostgresTable.ExecuteAsync(Of(old).ConnectionString, "DROP TABLE tasks");

            await DatabaseSetup.EnsureCreatedAsync(Of(old));
            await DatabaseSetup.EnsureCreatedAsync(Of(fresh));

            (await DatabaseSetup.ReadVersionAsync(Of(old))).ShouldBe(SchemaMigrations.Current);
            (await PostgresTable.DescribeAsync(Of(old).ConnectionString, "tasks", 6))
                .ShouldBe(await PostgresTable.DescribeAsync(Of(fresh).ConnectionString, "tasks", 6));
            (await PostgresTable.DescribeAsync(Of(old).ConnectionString, "task_submissions", 6))
                .ShouldBe(await PostgresTable.DescribeAsync(Of(fresh).ConnectionString, "task_submissions", 6));
            await using var write = new CyAgentsDbContext(Of(old).BuildOptions());
            write.Add(Task("tsk-2"));
            write.Add(Submission("tsk-2"));
            await write.SaveChangesAsync();
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)");
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{fresh}\" WITH (FORCE)");
        }
    }
}
