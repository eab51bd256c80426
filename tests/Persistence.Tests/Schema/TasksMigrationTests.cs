using CyAgents.Economy.Tasks;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

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
        var (path, options) = await SchemaFiles.UpgradedCopyOfFixtureAsync(l => l.StartsWith("tasks.") || l.StartsWith("task_submissions."));
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
        await PostgresUpgrade.MatchesFreshAsync("tasks", ["DROP TABLE task_submissions", "DROP TABLE tasks"], [("tasks", 6), ("task_submissions", 6)],
            async upgraded =>
            {
                upgraded.Add(Task("tsk-2"));
                upgraded.Add(Submission("tsk-2"));
                await upgraded.SaveChangesAsync();
            });
    }
}
