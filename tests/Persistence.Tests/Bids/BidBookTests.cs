using System.Reflection;
using CyAgents.Economy.Bids;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tests.Bids;

public sealed class BidBookTests : IAsyncLifetime
{
    private const string Alice = "alice";
    private static readonly ResourceBundle Small = ResourceBundle.Create(500, 256, 1000, 0);
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-bids-").FullName;
    private DatabaseOptions _database = null!;

    public async Task InitializeAsync()
    {
        _database = DatabaseOptions.ForSqliteFile(Path.Combine(_root, "cyagents.db"));
        await DatabaseSetup.EnsureCreatedAsync(_database);
        await using var db = Open();
        var ledger = new EfLedger(db);
        await ledger.OpenAccountAsync(AccountIds.Treasury, AccountKind.Treasury);
        await ledger.OpenAccountAsync(AccountIds.Escrow, AccountKind.Escrow);
        await ledger.OpenAccountAsync(AccountIds.ForAgent(Alice), AccountKind.Agent);
        await ledger.TransferAsync(new TransferRequest("alice:endowment", AccountIds.Treasury, AccountIds.ForAgent(Alice), 1000, TransferKind.Endowment));
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Placing_escrows_the_amount_and_files_an_open_bid_with_its_bundle()
    {
        await PlaceAsync("b1", 300);

        var bid = await LoadAsync("b1");
        bid.Status.ShouldBe(BidStatus.Open);
        bid.Bundle.ShouldBe(Small);
        bid.Amount.ShouldBe(300);
        bid.EscrowTransferId.ShouldBe("bid:b1:escrow");
        (await BalanceAsync()).Reserved.ShouldBe(300);
    }

    [Fact]
    public async Task Placing_refuses_an_overdraft_without_writing_a_record()
    {
        await using var db = Open();
        var book = new BidBook(db, new EfLedger(db));

        var refused = await Should.ThrowAsync<LedgerException>(() =>
            book.PlaceAsync(new BidPlacement("b1", Alice, 1, Small, 1001, DateTimeOffset.UnixEpoch), default));
        await db.SaveChangesAsync();

        refused.Error.ShouldBe(LedgerError.InsufficientFunds);
        db.ChangeTracker.Entries<BidRecord>().ShouldBeEmpty();
        (await CountBidsAsync()).ShouldBe(0);
        (await BalanceAsync()).Reserved.ShouldBe(0);
    }

    [Fact]
    public async Task The_bundle_is_stored_in_todays_columns()
    {
        await PlaceAsync("b1", 300);
        await using var db = Open();
        db.Add(new ExecutionRecord { Id = "x1", AgentId = Alice, Cycle = 1, Granted = ResourceBundle.Create(750, 200, 30, 40) });
        await db.SaveChangesAsync();

        (await ColumnsAsync("bids", "b1")).ShouldBe([500L, 256L, 1000L, 0L]);
        (await ColumnsAsync("executions", "x1")).ShouldBe([750L, 200L, 30L, 40L]);
        (await db.Set<ExecutionRecord>().AsNoTracking().SingleAsync()).Granted.ShouldBe(ResourceBundle.Create(750, 200, 30, 40));
    }

    [Fact]
    public async Task Cancelling_an_open_bid_voids_its_escrow()
    {
        await PlaceAsync("b1", 300);

        await using (var db = Open())
        {
            var book = new BidBook(db, new EfLedger(db));
            await book.CancelAsync(await db.Set<BidRecord>().SingleAsync(), default);
            await db.SaveChangesAsync();
        }

        (await LoadAsync("b1")).Status.ShouldBe(BidStatus.Cancelled);
        (await BalanceAsync()).Reserved.ShouldBe(0);
        (await BalanceAsync()).Posted.ShouldBe(1000);
    }

    [Fact]
    public async Task Freezing_takes_open_bids_of_this_cycle_and_earlier_and_files_them_under_it()
    {
        await PlaceAsync("b1", 100, cycle: 1);
        await PlaceAsync("b2", 100, cycle: 2);
        await PlaceAsync("b3", 100, cycle: 3);

        await using (var db = Open())
        {
            var frozen = await new BidBook(db, new EfLedger(db)).FreezeAsync(2, default);
            frozen.Select(b => b.Id).ShouldBe(["b1", "b2"]);
            await db.SaveChangesAsync();
        }

        (await LoadAsync("b1")).ShouldSatisfyAllConditions(b => b.Status.ShouldBe(BidStatus.Frozen), b => b.Cycle.ShouldBe(2));
        (await LoadAsync("b2")).Status.ShouldBe(BidStatus.Frozen);
        (await LoadAsync("b3")).ShouldSatisfyAllConditions(b => b.Status.ShouldBe(BidStatus.Open), b => b.Cycle.ShouldBe(3));
    }

    [Fact]
    public async Task Settling_marks_winners_won_at_their_payment_and_the_rest_lost()
    {
        await PlaceAsync("b1", 300);
        await PlaceAsync("b2", 200);

        await using (var db = Open())
        {
            var book = new BidBook(db, new EfLedger(db));
            var frozen = await book.FreezeAsync(1, default);
            var won = book.Settle(frozen, [new Allocation("b1", Alice, Small, 300, 120)]);
            won.ShouldHaveSingleItem().Bid.Id.ShouldBe("b1");
            await db.SaveChangesAsync();
        }

        (await LoadAsync("b1")).ShouldSatisfyAllConditions(b => b.Status.ShouldBe(BidStatus.Won), b => b.Payment.ShouldBe(120));
        (await LoadAsync("b2")).ShouldSatisfyAllConditions(b => b.Status.ShouldBe(BidStatus.Lost), b => b.Payment.ShouldBeNull());
    }

    [Fact]
    public async Task Reopening_returns_a_cycles_frozen_bids_to_the_book()
    {
        await PlaceAsync("b1", 300);
        await using (var db = Open())
        {
            await new BidBook(db, new EfLedger(db)).FreezeAsync(1, default);
            await db.SaveChangesAsync();
        }

        await using (var db = Open())
        {
            (await new BidBook(db, new EfLedger(db)).ReopenFrozenAsync(1, default)).ShouldBe(1);
            await db.SaveChangesAsync();
        }

        (await LoadAsync("b1")).Status.ShouldBe(BidStatus.Open);
        (await BalanceAsync()).Reserved.ShouldBe(300);
    }

    [Theory]
    [InlineData(BidStatus.Frozen)]
    [InlineData(BidStatus.Won)]
    [InlineData(BidStatus.Lost)]
    [InlineData(BidStatus.Cancelled)]
    public async Task Cancelling_a_bid_that_is_not_open_is_refused_and_changes_nothing(BidStatus status)
    {
        await PlaceAsync("b1", 300);
        await BringToAsync("b1", status);
        var balance = await BalanceAsync();

        await using (var db = Open())
        {
            var bid = await db.Set<BidRecord>().SingleAsync();
            await Should.ThrowAsync<BidTransitionRefusedException>(() => new BidBook(db, new EfLedger(db)).CancelAsync(bid, default));
            bid.Status.ShouldBe(status);
            await db.SaveChangesAsync();
        }

        (await LoadAsync("b1")).Status.ShouldBe(status);
        (await BalanceAsync()).ShouldBe(balance);
    }

    [Theory]
    [InlineData(BidStatus.Open)]
    [InlineData(BidStatus.Won)]
    [InlineData(BidStatus.Lost)]
    [InlineData(BidStatus.Cancelled)]
    public async Task Settling_a_bid_that_is_not_frozen_refuses_the_whole_settlement(BidStatus status)
    {
        await PlaceAsync("a", 100);
        await using (var db = Open())
        {
            await new BidBook(db, new EfLedger(db)).FreezeAsync(1, default);
            await db.SaveChangesAsync();
        }
        await PlaceAsync("b", 100);
        await BringToAsync("b", status);

        await using (var db = Open())
        {
            var bids = await db.Set<BidRecord>().OrderBy(b => b.Id).ToListAsync();
            Should.Throw<BidTransitionRefusedException>(() => new BidBook(db, new EfLedger(db)).Settle(bids,
                [new Allocation("a", Alice, Small, 100, 10), new Allocation("b", Alice, Small, 100, 10)]));
            bids.Select(b => b.Status).ShouldBe([BidStatus.Frozen, status]);
            bids[0].Payment.ShouldBeNull();
            db.ChangeTracker.HasChanges().ShouldBeFalse();
        }
    }

    public static TheoryData<BidStatus, BidStatus> EveryMove()
    {
        var data = new TheoryData<BidStatus, BidStatus>();
        foreach (var from in Enum.GetValues<BidStatus>())
        foreach (var to in Enum.GetValues<BidStatus>())
            data.Add(from, to);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryMove))]
    public async Task A_status_moves_exactly_along_the_lifecycle_table(BidStatus from, BidStatus to)
    {
        await PlaceAsync("b1", 300);
        await BringToAsync("b1", from);
        await using var db = Open();
        var bid = await db.Set<BidRecord>().SingleAsync();

        if (BidLifecycle.CanMove(from, to))
        {
            bid.MoveTo(to, payment: 7);
            bid.Status.ShouldBe(to);
            await db.SaveChangesAsync();
            (await LoadAsync("b1")).Status.ShouldBe(to);
        }
        else
        {
            Should.Throw<BidTransitionRefusedException>(() => bid.MoveTo(to, payment: 7)).Message.ShouldContain($"is {from}");
            bid.Status.ShouldBe(from);
            db.ChangeTracker.HasChanges().ShouldBeFalse();
        }
    }

    [Fact]
    public void The_lifecycle_table_is_the_one_the_design_names()
    {
        BidLifecycle.Transitions.ShouldBe([
            (BidStatus.Open, BidStatus.Frozen), (BidStatus.Open, BidStatus.Cancelled), (BidStatus.Frozen, BidStatus.Won),
            (BidStatus.Frozen, BidStatus.Lost), (BidStatus.Frozen, BidStatus.Open)], ignoreOrder: true);
        Enum.GetValues<BidStatus>().Where(BidLifecycle.IsFinal).ShouldBe([BidStatus.Won, BidStatus.Lost, BidStatus.Cancelled]);
    }

    [Theory]
    [InlineData(nameof(BidRecord.Status))]
    [InlineData(nameof(BidRecord.Payment))]
    [InlineData(nameof(BidRecord.Cycle))]
    public void Code_outside_persistence_cannot_write_a_bids_lifecycle_fields(string property)
    {
        // A public setter would let the API or the cycle write a status directly; without one, such code does not compile.
        var setter = typeof(BidRecord).GetProperty(property, BindingFlags.Public | BindingFlags.Instance)!.SetMethod;
        setter.ShouldNotBeNull(property + " is mapped by EF through its non-public setter");
        (setter.IsPublic || setter.IsFamily || setter.IsFamilyOrAssembly).ShouldBeFalse();
        typeof(BidRecord).GetMethod(nameof(BidRecord.MoveTo), BindingFlags.NonPublic | BindingFlags.Instance)!.IsAssembly.ShouldBeTrue();
    }

    /// <summary>Walks a placed bid along legal moves, through the book, to <paramref name="status"/>.</summary>
    private async Task BringToAsync(string bidId, BidStatus status)
    {
        if (status == BidStatus.Open) return;
        await using var db = Open();
        var book = new BidBook(db, new EfLedger(db));
        var bid = await db.Set<BidRecord>().SingleAsync(b => b.Id == bidId);
        if (status == BidStatus.Cancelled)
            await book.CancelAsync(bid, default);
        else
        {
            bid.MoveTo(BidStatus.Frozen);
            if (status != BidStatus.Frozen)
                book.Settle([bid], status == BidStatus.Won ? [new Allocation(bidId, Alice, Small, bid.Amount, 10)] : []);
        }
        await db.SaveChangesAsync();
    }

    private async Task PlaceAsync(string id, long amount, long cycle = 1)
    {
        await using var db = Open();
        await using var tx = await db.Database.BeginTransactionAsync();
        await new BidBook(db, new EfLedger(db)).PlaceAsync(new BidPlacement(id, Alice, cycle, Small, amount, DateTimeOffset.UnixEpoch), default);
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    private async Task<BidRecord> LoadAsync(string id)
    {
        await using var db = Open();
        return await db.Set<BidRecord>().AsNoTracking().SingleAsync(b => b.Id == id);
    }

    private async Task<int> CountBidsAsync()
    {
        await using var db = Open();
        return await db.Set<BidRecord>().CountAsync();
    }

    private async Task<AccountBalance> BalanceAsync()
    {
        await using var db = Open();
        return await new EfLedger(db).GetBalanceAsync(AccountIds.ForAgent(Alice));
    }

    private async Task<long[]> ColumnsAsync(string table, string id)
    {
        await using var db = Open();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT CpuMillicores, MemoryMiB, Tokens, AttentionBasisPoints FROM {table} WHERE Id = $id";
        var p = command.CreateParameter();
        p.ParameterName = "$id";
        p.Value = id;
        command.Parameters.Add(p);
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        return [reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)];
    }

    private CyAgentsDbContext Open() => new(_database.BuildOptions());
}
