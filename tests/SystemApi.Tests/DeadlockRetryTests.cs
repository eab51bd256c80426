using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// A PostgreSQL deadlock (40P01) or serialization failure (40001) is retried by the group-commit writer instead of
/// failing the request. The deadlock is real: two connections lock two rows in opposite order on CYAGENTS_TEST_POSTGRES
/// (fails without it).
/// </summary>
public sealed class DeadlockRetryTests() : ThrowawayPostgresDatabase("cyagents_deadlock_")
{
    private static async Task ExecAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_write_chosen_as_deadlock_victim_is_retried_and_succeeds()
    {
        await using var api = Host();
        var writer = api.Get<GroupCommitWriter>();
        await using var other = new NpgsqlConnection(Connection);
        await other.OpenAsync();
        await ExecAsync(other, "CREATE TABLE deadlock_probe (id int PRIMARY KEY, v int NOT NULL); INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)");

        var writerHoldsRow1 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherHoldsRow2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = 0;
        var write = writer.RunAsync<string>("probe", null, async w =>
        {
            var attempt = Interlocked.Increment(ref attempts);
            await w.Db.Database.ExecuteSqlRawAsync("UPDATE deadlock_probe SET v = v + 1 WHERE id = 1", w.Ct);
            if (attempt == 1)
            {
                writerHoldsRow1.SetResult();
                await otherHoldsRow2.Task;
            }
            await w.Db.Database.ExecuteSqlRawAsync("UPDATE deadlock_probe SET v = v + 1 WHERE id = 2", w.Ct);
            return $"done after {attempt} attempts";
        });

        // The other side waits longer before looking for deadlocks, so the writer's backend finds it and is the victim.
        await ExecAsync(other, "SET deadlock_timeout = '10s'");
        await using (var tx = await other.BeginTransactionAsync())
        {
            await ExecAsync(other, "UPDATE deadlock_probe SET v = v + 10 WHERE id = 2");
            await writerHoldsRow1.Task.WaitAsync(TimeSpan.FromSeconds(30));
            otherHoldsRow2.SetResult();
            // Blocks on row 1 until the writer is chosen as victim and rolls back to its savepoint.
            await ExecAsync(other, "UPDATE deadlock_probe SET v = v + 10 WHERE id = 1");
            await tx.CommitAsync();
        }

        var outcome = await write.WaitAsync(TimeSpan.FromSeconds(60));
        outcome.Refusal.ShouldBeNull();
        outcome.Value.ShouldBe("done after 2 attempts");
        attempts.ShouldBe(2);
        await using var check = new NpgsqlCommand("SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM deadlock_probe", other);
        // Each side's increments landed exactly once: the victim's first attempt left nothing behind.
        (await check.ExecuteScalarAsync()).ShouldBe("1=11,2=11");
    }

    [Theory]
    [InlineData(TransientWrite.DeadlockDetected, true)]
    [InlineData(TransientWrite.SerializationFailure, true)]
    [InlineData("23505", false)]
    [InlineData("57014", false)]
    public void Only_deadlocks_and_serialization_failures_are_retried(string sqlState, bool retried)
    {
        var pg = new PostgresException("probe", "ERROR", "ERROR", sqlState);
        TransientWrite.IsRetryable(pg).ShouldBe(retried);
        // EF Core wraps provider errors; the state is found inside.
        TransientWrite.IsRetryable(new DbUpdateException("save failed", pg)).ShouldBe(retried);
        TransientWrite.IsRetryable(new InvalidOperationException("not a database error")).ShouldBeFalse();
    }
}
