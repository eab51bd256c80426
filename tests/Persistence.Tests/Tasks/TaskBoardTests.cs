using CyAgents.Economy.Ledger;
using CyAgents.Economy.Tasks;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Tasks;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tests.Tasks;

public sealed class TaskBoardTests : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-tasks-").FullName;
    private DatabaseOptions _database = null!;

    public async Task InitializeAsync()
    {
        _database = DatabaseOptions.ForSqliteFile(Path.Combine(_root, "cyagents.db"));
        await DatabaseSetup.EnsureCreatedAsync(_database);
        await using var db = Open();
        var ledger = new EfLedger(db);
        foreach (var agent in new[] { "poster", "alice", "bob" })
        {
            await ledger.OpenAccountAsync(AccountIds.ForAgent(agent), AccountKind.Agent);
            await ledger.TransferAsync(new TransferRequest($"{agent}:endowment", AccountIds.Treasury, AccountIds.ForAgent(agent), 1000, TransferKind.Endowment));
        }
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Posting_escrows_the_reward_from_the_poster_at_once()
    {
        await PostAsync("t1", "poster", 300);

        var poster = await BalanceAsync("poster");
        poster.Posted.ShouldBe(1000);
        poster.Available.ShouldBe(700);
        var escrow = await FindAsync(TaskTransfers.Escrow("t1"));
        escrow!.Kind.ShouldBe(TransferKind.TaskEscrow);
        escrow.State.ShouldBe(TransferState.Pending);
        (await EventsAsync()).ShouldContain(EventTypes.TaskPosted);
    }

    [Fact]
    public async Task A_poster_without_the_credits_changes_nothing()
    {
        await using var db = Open();
        await using var tx = await db.Database.BeginTransactionAsync();
        var e = await Should.ThrowAsync<LedgerException>(() => new TaskBoard(db, new EfLedger(db)).PostAsync(Terms("t1", "poster", 1001), default));
        e.Error.ShouldBe(LedgerError.InsufficientFunds);
        (await BalanceAsync("poster")).Available.ShouldBe(1000);
    }

    [Fact]
    public async Task A_failed_verification_pays_nothing_and_leaves_the_task_open()
    {
        await PostAsync("t1", "poster", 300);
        var sid = await SubmitAsync("t1", "alice", "s1");

        (await JudgeAsync("t1", sid, passed: false)).ShouldBe(SubmissionState.Failed);

        (await BalanceAsync("alice")).Posted.ShouldBe(1000);
        (await TaskAsync("t1")).State.ShouldBe(TaskState.Open);
        (await FindAsync(TaskTransfers.Award("t1"))).ShouldBeNull();
        await ConservationHoldsAsync();
    }

    [Fact]
    public async Task The_first_pass_is_paid_once_and_a_later_pass_earns_nothing()
    {
        await PostAsync("t1", "poster", 300);
        var first = await SubmitAsync("t1", "alice", "s1");
        var second = await SubmitAsync("t1", "bob", "s2");

        (await JudgeAsync("t1", first, passed: true)).ShouldBe(SubmissionState.Awarded);
        (await JudgeAsync("t1", second, passed: true)).ShouldBe(SubmissionState.Passed);

        (await BalanceAsync("alice")).Posted.ShouldBe(1300);
        (await BalanceAsync("bob")).Posted.ShouldBe(1000);
        (await BalanceAsync("poster")).Posted.ShouldBe(700);
        var task = await TaskAsync("t1");
        (task.State, task.WinnerAgentId, task.WinnerSubmissionId).ShouldBe((TaskState.Awarded, "alice", "s1"));
        (await FindAsync(TaskTransfers.Award("t1")))!.Kind.ShouldBe(TransferKind.TaskReward);
        (await EventsAsync()).Count(t => t == EventTypes.TaskAwarded).ShouldBe(1);
        await ConservationHoldsAsync();
    }

    [Fact]
    public async Task Concurrent_passes_of_two_agents_pay_the_reward_exactly_once()
    {
        await PostAsync("t1", "poster", 300);
        var a = await SubmitAsync("t1", "alice", "s1");
        var b = await SubmitAsync("t1", "bob", "s2");

        // Two writers at once (SQLite serializes their transactions; the second then finds the task awarded).
        async Task Race(string sid)
        {
            try { await JudgeAsync("t1", sid, passed: true); }
            catch (Exception e) when (e is DbUpdateConcurrencyException or LedgerException or DbUpdateException or SqliteException) { }
        }
        await Task.WhenAll(Task.Run(() => Race(a)), Task.Run(() => Race(b)));

        await using (var db = Open())
            (await db.Set<TaskSubmissionRecord>().CountAsync(s => s.State == SubmissionState.Awarded)).ShouldBe(1);
        ((await BalanceAsync("alice")).Posted + (await BalanceAsync("bob")).Posted).ShouldBe(2300);
        (await BalanceAsync("poster")).Posted.ShouldBe(700);
        await ConservationHoldsAsync();
    }

    [Fact]
    public async Task Two_writers_that_both_read_the_task_open_cannot_both_award_it()
    {
        await PostAsync("t1", "poster", 300);
        var a = await SubmitAsync("t1", "alice", "s1");
        var b = await SubmitAsync("t1", "bob", "s2");
        await using var first = Open();
        await using var second = Open();
        var firstTask = await first.Set<TaskRecord>().SingleAsync(t => t.Id == "t1");
        var secondTask = await second.Set<TaskRecord>().SingleAsync(t => t.Id == "t1");
        var firstSubmission = await first.Set<TaskSubmissionRecord>().SingleAsync(s => s.Id == a);
        var secondSubmission = await second.Set<TaskSubmissionRecord>().SingleAsync(s => s.Id == b);

        await using (var tx = await first.Database.BeginTransactionAsync())
        {
            await new TaskBoard(first, new EfLedger(first)).JudgeAsync(firstTask, firstSubmission, true, 0, null, 5, At, default);
            await first.SaveChangesAsync();
            await tx.CommitAsync();
        }
        await using (var tx = await second.Database.BeginTransactionAsync())
        {
            // The stale writer still thinks the task is open: the ledger refuses the second award to another agent.
            await Should.ThrowAsync<LedgerException>(() =>
                new TaskBoard(second, new EfLedger(second)).JudgeAsync(secondTask, secondSubmission, true, 0, null, 5, At, default));
        }

        (await BalanceAsync("alice")).Posted.ShouldBe(1300);
        (await BalanceAsync("bob")).Posted.ShouldBe(1000);
        await ConservationHoldsAsync();
    }

    [Fact]
    public async Task A_replayed_award_to_the_same_agent_moves_nothing_more()
    {
        await PostAsync("t1", "poster", 300);
        await using (var db = Open())
        {
            var ledger = new EfLedger(db);
            await ledger.ApplyBatchAsync(TaskTransfers.AwardTo("t1", "alice", 300, 5));
            await ledger.ApplyBatchAsync(TaskTransfers.AwardTo("t1", "alice", 300, 5));
            await Should.ThrowAsync<LedgerException>(() => ledger.ApplyBatchAsync(TaskTransfers.AwardTo("t1", "bob", 300, 5)).AsTask());
            await Should.ThrowAsync<LedgerException>(() => ledger.ApplyBatchAsync(TaskTransfers.ReturnTo("t1", "poster", 300, 6)).AsTask());
        }
        (await BalanceAsync("alice")).Posted.ShouldBe(1300);
        (await BalanceAsync("bob")).Posted.ShouldBe(1000);
        (await BalanceAsync("poster")).Posted.ShouldBe(700);
        await ConservationHoldsAsync();
    }

    [Fact]
    public async Task At_the_deadline_an_unawarded_reward_returns_to_the_poster_and_unjudged_work_expires()
    {
        await PostAsync("t1", "poster", 300, deadlineCycles: 2); // posted in cycle 3: takes submissions through cycle 5
        var sid = await SubmitAsync("t1", "alice", "s1");
        await using (var db = Open())
        {
            var board = new TaskBoard(db, new EfLedger(db));
            (await board.DueAsync(5, default)).ShouldBeEmpty();
            var due = await board.DueAsync(6, default);
            due.Select(t => t.Id).ShouldBe(["t1"]);
            await board.ExpireAsync(due[0], 6, At, default);
            await db.SaveChangesAsync();
        }

        (await BalanceAsync("poster")).Available.ShouldBe(1000);
        (await BalanceAsync("poster")).Reserved.ShouldBe(0);
        (await TaskAsync("t1")).State.ShouldBe(TaskState.Expired);
        (await FindAsync(TaskTransfers.Return("t1")))!.Kind.ShouldBe(TransferKind.TaskReturn);
        await using (var db = Open()) (await db.Set<TaskSubmissionRecord>().SingleAsync(s => s.Id == sid)).State.ShouldBe(SubmissionState.Expired);
        (await EventsAsync()).ShouldContain(EventTypes.TaskExpired);
        await ConservationHoldsAsync();
    }

    [Fact]
    public async Task An_operator_task_is_paid_from_the_treasury_and_returns_there()
    {
        await PostAsync("t1", null, 500, deadlineCycles: 1);
        (await BalanceAsync(AccountIds.Treasury, agent: false)).Reserved.ShouldBe(500);
        await using (var db = Open())
        {
            var board = new TaskBoard(db, new EfLedger(db));
            await board.ExpireAsync((await board.DueAsync(5, default)).Single(), 5, At, default);
            await db.SaveChangesAsync();
        }
        (await BalanceAsync(AccountIds.Treasury, agent: false)).Reserved.ShouldBe(0);
        await ConservationHoldsAsync();
    }

    private CyAgentsDbContext Open() => new(_database.BuildOptions());

    private static TaskTerms Terms(string id, string? poster, long reward, int deadlineCycles = 5) =>
        new(id, poster, "write hello.txt", "hello", reward, 3, deadlineCycles, VerifierKind.Command, "python", ["python3", "-c", "pass"], At);

    private async Task PostAsync(string id, string? poster, long reward, int deadlineCycles = 5)
    {
        await using var db = Open();
        await using var tx = await db.Database.BeginTransactionAsync();
        await new TaskBoard(db, new EfLedger(db)).PostAsync(Terms(id, poster, reward, deadlineCycles), default);
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    private async Task<string> SubmitAsync(string taskId, string agent, string sid)
    {
        await using var db = Open();
        var task = await db.Set<TaskRecord>().SingleAsync(t => t.Id == taskId);
        new TaskBoard(db, new EfLedger(db)).Submit(task, sid, agent, null, 4, "out", 1, 5, At);
        await db.SaveChangesAsync();
        return sid;
    }

    private async Task<SubmissionState> JudgeAsync(string taskId, string sid, bool passed)
    {
        await using var db = Open();
        await using var tx = await db.Database.BeginTransactionAsync();
        var task = await db.Set<TaskRecord>().SingleAsync(t => t.Id == taskId);
        var submission = await db.Set<TaskSubmissionRecord>().SingleAsync(s => s.Id == sid);
        var state = await new TaskBoard(db, new EfLedger(db)).JudgeAsync(task, submission, passed, passed ? 0 : 1, null, 5, At, default);
        await db.SaveChangesAsync();
        await tx.CommitAsync();
        return state;
    }

    private async Task<TaskRecord> TaskAsync(string id)
    {
        await using var db = Open();
        return await db.Set<TaskRecord>().SingleAsync(t => t.Id == id);
    }

    private async Task<List<string>> EventsAsync()
    {
        await using var db = Open();
        return await db.Set<EventRecord>().OrderBy(e => e.Seq).Select(e => e.Type).ToListAsync();
    }

    private async Task<AccountBalance> BalanceAsync(string account, bool agent = true)
    {
        await using var db = Open();
        return await new EfLedger(db).GetBalanceAsync(agent ? AccountIds.ForAgent(account) : account);
    }

    private async Task<Transfer?> FindAsync(string id)
    {
        await using var db = Open();
        return await new EfLedger(db).FindTransferAsync(id);
    }

    private async Task ConservationHoldsAsync()
    {
        await using var db = Open();
        (await new EfLedger(db).CheckConservationAsync()).Holds.ShouldBeTrue();
    }
}
