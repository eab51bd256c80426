using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Tests.Ledger;

/// <summary>
/// What every <see cref="ILedger"/> must do. Each implementation (in memory, SQLite file, PostgreSQL) derives
/// from this class and runs all of it against a fresh store per test.
/// </summary>
public abstract partial class LedgerBehaviourTests : IAsyncLifetime
{
    protected const string Alice = "agent:alice";
    protected const string Bob = "agent:bob";

    protected ILedger Ledger { get; private set; } = null!;

    /// <summary>A ledger over a new, empty store.</summary>
    protected abstract Task<ILedger> CreateLedgerAsync();

    /// <summary>Another ledger handle on the same store (its own connection, where there is one).</summary>
    protected abstract Task<ILedger> OpenSecondHandleAsync();

    /// <summary>How many transfers (rows) the store holds.</summary>
    protected abstract Task<long> CountStoredTransfersAsync();

    /// <summary>False for a ledger that keeps no transfer history (listing then returns nothing).</summary>
    protected virtual bool KeepsHistory => true;

    /// <summary>How many seeded random operations the random-walk test runs.</summary>
    protected virtual int RandomOperationCount => 10_000;

    public virtual async Task InitializeAsync() => Ledger = await CreateLedgerAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected async Task<AccountBalance> Balance(string account) => await Ledger.GetBalanceAsync(account);

    protected async Task Fund(string account, long amount, string? id = null)
    {
        await Ledger.OpenAccountAsync(account, AccountKind.Agent);
        await Ledger.TransferAsync(new TransferRequest(id ?? "endow:" + account, AccountIds.Treasury, account, amount, TransferKind.Endowment));
    }

    protected sealed record StoreState(IReadOnlyList<AccountBalance> Balances, long Transfers);

    protected async Task<StoreState> StateAsync() => new(await Ledger.GetBalancesAsync(), await CountStoredTransfersAsync());

    protected async Task<LedgerException> ShouldFailUnchanged(LedgerError error, Func<Task> action, string? messagePart = null)
    {
        var before = await StateAsync();
        var ex = await Should.ThrowAsync<LedgerException>(action);
        ex.Error.ShouldBe(error, ex.Message);
        ex.Message.ShouldNotBeNullOrWhiteSpace();
        if (messagePart is not null) ex.Message.ShouldContain(messagePart, Case.Insensitive);
        var after = await StateAsync();
        after.Balances.ShouldBe(before.Balances, "balances changed although the operation failed");
        after.Transfers.ShouldBe(before.Transfers, "transfer rows changed although the operation failed");
        (await Ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
        return ex;
    }

    [Fact]
    public async Task Treasury_and_escrow_exist_from_the_start()
    {
        (await Balance(AccountIds.Treasury)).Posted.ShouldBe(0);
        (await Balance(AccountIds.Escrow)).Posted.ShouldBe(0);
        (await Ledger.GetBalancesAsync()).Select(b => b.AccountId).ShouldBe([AccountIds.Escrow, AccountIds.Treasury]);
    }

    [Fact]
    public async Task Endowment_moves_credits_out_of_the_treasury_which_may_go_negative()
    {
        await Fund(Alice, 1_000);

        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 1_000, 0, 0));
        (await Balance(AccountIds.Treasury)).Posted.ShouldBe(-1_000);
        var report = await Ledger.CheckConservationAsync();
        report.Holds.ShouldBeTrue();
        report.SumOfPosted.ShouldBe(0);
        report.TreasuryIssued.ShouldBe(1_000);
    }

    [Fact]
    public async Task Transfer_returns_the_recorded_transfer_with_increasing_sequence()
    {
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);

        var t = await Ledger.TransferAsync(new TransferRequest("gift-1", Alice, Bob, 40, TransferKind.Gift, 3, "thanks"));

        t.ShouldBe(new Transfer("gift-1", 2, Alice, Bob, 40, TransferKind.Gift, TransferState.Posted, 3, "thanks"));
        (await Ledger.FindTransferAsync("gift-1")).ShouldBe(t);
        (await Ledger.FindTransferAsync("no-such")).ShouldBeNull();
        (await Balance(Alice)).Posted.ShouldBe(60);
        (await Balance(Bob)).Posted.ShouldBe(40);
    }

    [Fact]
    public async Task Agent_cannot_spend_more_than_it_has()
    {
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);

        await ShouldFailUnchanged(LedgerError.InsufficientFunds,
            () => Ledger.TransferAsync(new TransferRequest("too-much", Alice, Bob, 101, TransferKind.Gift)).AsTask(),
            "100 credits available, 101 needed");
        (await Ledger.FindTransferAsync("too-much")).ShouldBeNull();
    }

    [Fact]
    public async Task Escrow_account_cannot_pay_out_more_than_it_holds()
    {
        await ShouldFailUnchanged(LedgerError.InsufficientFunds,
            () => Ledger.TransferAsync(new TransferRequest("charge", AccountIds.Escrow, AccountIds.Treasury, 1, TransferKind.ClearingCharge)).AsTask());
    }

    [Fact]
    public async Task Replayed_id_with_the_same_fields_returns_the_first_result_and_changes_nothing()
    {
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);
        var request = new TransferRequest("gift-1", Alice, Bob, 30, TransferKind.Gift, 1, "m");
        var first = await Ledger.TransferAsync(request);
        var before = await StateAsync();

        var again = await Ledger.TransferAsync(request with { });

        again.ShouldBe(first);
        var after = await StateAsync();
        after.Balances.ShouldBe(before.Balances);
        after.Transfers.ShouldBe(before.Transfers);
        (await Balance(Alice)).Posted.ShouldBe(70);
    }

    [Fact]
    public async Task Replayed_id_is_idempotent_even_when_the_balance_no_longer_covers_it()
    {
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);
        var request = new TransferRequest("all-of-it", Alice, Bob, 100, TransferKind.Gift);
        var first = await Ledger.TransferAsync(request);

        (await Ledger.TransferAsync(request)).ShouldBe(first);
        (await Balance(Alice)).Posted.ShouldBe(0);
    }

    [Theory]
    [InlineData("amount")]
    [InlineData("kind")]
    [InlineData("cycle")]
    [InlineData("memo")]
    [InlineData("credit")]
    [InlineData("pending")]
    public async Task Replayed_id_with_other_fields_is_a_conflict_and_changes_nothing(string field)
    {
        await Fund(Alice, 100);
        await Fund(Bob, 10);
        var request = new TransferRequest("gift-1", Alice, Bob, 30, TransferKind.Gift, 1, "m");
        await Ledger.TransferAsync(request);
        var other = field switch
        {
            "amount" => request with { Amount = 31 },
            "kind" => request with { Kind = TransferKind.Refund },
            "cycle" => request with { Cycle = 2 },
            "memo" => request with { Memo = "other" },
            "credit" => request with { CreditAccountId = AccountIds.Treasury },
            _ => request with { Pending = true },
        };

        var ex = await ShouldFailUnchanged(LedgerError.IdConflict, () => Ledger.TransferAsync(other).AsTask(), "already used");
        ex.Message.ShouldContain("gift-1");
    }

    [Fact]
    public async Task A_resolution_id_cannot_reuse_a_transfer_id()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 50, TransferKind.BidEscrow, Pending: true));

        await ShouldFailUnchanged(LedgerError.IdConflict,
            () => Ledger.ResolveAsync(new PendingResolution("endow:" + Alice, "bid:1:escrow", Void: true)).AsTask());
    }

    [Fact]
    public async Task Pending_transfer_reserves_without_moving_credits()
    {
        await Fund(Alice, 100);

        var escrow = await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, 7, Pending: true));

        escrow.State.ShouldBe(TransferState.Pending);
        var alice = await Balance(Alice);
        alice.ShouldBe(new AccountBalance(Alice, 100, 60, 0));
        alice.Available.ShouldBe(40);
        (await Balance(AccountIds.Escrow)).ShouldBe(new AccountBalance(AccountIds.Escrow, 0, 0, 60));
        var report = await Ledger.CheckConservationAsync();
        report.Holds.ShouldBeTrue();
        report.SumOfPendingOut.ShouldBe(60);
        report.SumOfPendingIn.ShouldBe(60);
    }

    [Fact]
    public async Task Reserved_credits_cannot_be_spent_again()
    {
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 80, TransferKind.BidEscrow, Pending: true));

        await ShouldFailUnchanged(LedgerError.InsufficientFunds,
            () => Ledger.TransferAsync(new TransferRequest("gift", Alice, Bob, 21, TransferKind.Gift)).AsTask(), "20 credits available");
        await ShouldFailUnchanged(LedgerError.InsufficientFunds,
            () => Ledger.TransferAsync(new TransferRequest("bid:2:escrow", Alice, AccountIds.Escrow, 21, TransferKind.BidEscrow, Pending: true)).AsTask());
        await Ledger.TransferAsync(new TransferRequest("gift", Alice, Bob, 20, TransferKind.Gift));
        (await Balance(Alice)).Available.ShouldBe(0);
    }

    [Fact]
    public async Task Posting_in_full_moves_the_reserved_amount()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));

        var post = await Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Cycle: 7));

        post.ShouldBe(new Transfer("bid:1:settle", 3, Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, TransferState.PendingPosted, 7, null, "bid:1:escrow", 60));
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 40, 0, 0));
        (await Balance(AccountIds.Escrow)).ShouldBe(new AccountBalance(AccountIds.Escrow, 60, 0, 0));
        var pending = await Ledger.FindTransferAsync("bid:1:escrow");
        pending!.State.ShouldBe(TransferState.PendingPosted);
        pending.PostedAmount.ShouldBe(60);
    }

    [Fact]
    public async Task Posting_in_part_returns_the_rest()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));

        var post = await Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 25));

        post.PostedAmount.ShouldBe(25);
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 75, 0, 0));
        (await Balance(AccountIds.Escrow)).ShouldBe(new AccountBalance(AccountIds.Escrow, 25, 0, 0));
        (await Ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task Voiding_returns_everything()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));

        var voided = await Ledger.ResolveAsync(new PendingResolution("bid:1:void", "bid:1:escrow", Void: true, Memo: "lost"));

        voided.State.ShouldBe(TransferState.PendingVoided);
        voided.PostedAmount.ShouldBe(0);
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 100, 0, 0));
        (await Balance(AccountIds.Escrow)).ShouldBe(new AccountBalance(AccountIds.Escrow, 0, 0, 0));
        (await Ledger.FindTransferAsync("bid:1:escrow"))!.State.ShouldBe(TransferState.PendingVoided);
    }

    [Fact]
    public async Task Posting_zero_releases_the_reservation()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));

        (await Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 0))).PostedAmount.ShouldBe(0);

        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 100, 0, 0));
    }

    [Fact]
    public async Task A_pending_transfer_resolves_exactly_once()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));
        var first = await Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 10));

        await ShouldFailUnchanged(LedgerError.PendingAlreadyResolved,
            () => Ledger.ResolveAsync(new PendingResolution("bid:1:void", "bid:1:escrow", Void: true)).AsTask(), "already posted");
        await ShouldFailUnchanged(LedgerError.PendingAlreadyResolved,
            () => Ledger.ResolveAsync(new PendingResolution("bid:1:settle-again", "bid:1:escrow", Void: false, Amount: 10)).AsTask());
        (await Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 10))).ShouldBe(first);
        await ShouldFailUnchanged(LedgerError.IdConflict,
            () => Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 11)).AsTask());
        (await Balance(Alice)).Posted.ShouldBe(90);
    }

    [Fact]
    public async Task A_resolution_in_full_matches_its_replay_naming_the_full_amount()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("p", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));
        var first = await Ledger.ResolveAsync(new PendingResolution("r", "p", Void: false));

        (await Ledger.ResolveAsync(new PendingResolution("r", "p", Void: false, Amount: 60))).ShouldBe(first);
    }

    [Fact]
    public async Task Posting_more_than_was_reserved_is_refused()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));

        await ShouldFailUnchanged(LedgerError.PostExceedsPending,
            () => Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 61)).AsTask(), "holds only 60");
        await ShouldFailUnchanged(LedgerError.InvalidAmount,
            () => Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: -1)).AsTask(), "negative");
        await ShouldFailUnchanged(LedgerError.InvalidRequest,
            () => Ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: true, Amount: 5)).AsTask(), "void");
    }

    [Fact]
    public async Task Only_pending_transfers_can_be_resolved()
    {
        await Fund(Alice, 100);

        await ShouldFailUnchanged(LedgerError.PendingNotFound,
            () => Ledger.ResolveAsync(new PendingResolution("r1", "no-such", Void: true)).AsTask(), "no-such");
        await ShouldFailUnchanged(LedgerError.PendingNotFound,
            () => Ledger.ResolveAsync(new PendingResolution("r2", "endow:" + Alice, Void: true)).AsTask());
    }

    [Fact]
    public async Task A_linked_batch_applies_all_or_nothing()
    {
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);

        var ex = await ShouldFailUnchanged(LedgerError.InsufficientFunds, () => Ledger.ApplyBatchAsync(
        [
            new TransferRequest("b1", Alice, Bob, 70, TransferKind.Gift),
            new TransferRequest("b2", Alice, AccountIds.Escrow, 20, TransferKind.BidEscrow, Pending: true),
            new TransferRequest("b3", Alice, Bob, 20, TransferKind.Gift),
        ]).AsTask(), "item 3");
        ex.Message.ShouldContain("nothing was applied");

        (await Ledger.FindTransferAsync("b1")).ShouldBeNull();
        (await Ledger.FindTransferAsync("b2")).ShouldBeNull();
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 100, 0, 0));
    }

    [Fact]
    public async Task A_failed_batch_leaves_resolved_pending_transfers_unresolved()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));

        await ShouldFailUnchanged(LedgerError.UnknownAccount, () => Ledger.ApplyBatchAsync(
        [
            new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 30),
            new TransferRequest("bid:1:charge", AccountIds.Escrow, "agent:nobody", 30, TransferKind.ClearingCharge),
        ]).AsTask(), "agent:nobody");

        (await Ledger.FindTransferAsync("bid:1:escrow"))!.State.ShouldBe(TransferState.Pending);
        (await Ledger.ResolveAsync(new PendingResolution("bid:1:void", "bid:1:escrow", Void: true))).State.ShouldBe(TransferState.PendingVoided);
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 100, 0, 0));
    }

    [Fact]
    public async Task Settlement_batch_posts_the_winners_escrow_and_charges_it_to_the_treasury()
    {
        await Fund(Alice, 100);
        await Fund(Bob, 100);
        await Ledger.TransferAsync(new TransferRequest("bid:a:escrow", Alice, AccountIds.Escrow, 50, TransferKind.BidEscrow, 1, Pending: true));
        await Ledger.TransferAsync(new TransferRequest("bid:b:escrow", Bob, AccountIds.Escrow, 40, TransferKind.BidEscrow, 1, Pending: true));

        var results = await Ledger.ApplyBatchAsync(
        [
            new PendingResolution("bid:a:settle", "bid:a:escrow", Void: false, Amount: 35, Cycle: 1),
            new TransferRequest("bid:a:charge", AccountIds.Escrow, AccountIds.Treasury, 35, TransferKind.ClearingCharge, 1),
            new PendingResolution("bid:b:void", "bid:b:escrow", Void: true, Cycle: 1),
        ]);

        results.Select(r => r.Id).ShouldBe(["bid:a:settle", "bid:a:charge", "bid:b:void"]);
        results.Select(r => r.Sequence).ShouldBe([5L, 6L, 7L]);
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 65, 0, 0));
        (await Balance(Bob)).ShouldBe(new AccountBalance(Bob, 100, 0, 0));
        (await Balance(AccountIds.Escrow)).ShouldBe(new AccountBalance(AccountIds.Escrow, 0, 0, 0));
        var report = await Ledger.CheckConservationAsync();
        report.Holds.ShouldBeTrue();
        report.TreasuryIssued.ShouldBe(165);
    }

    [Fact]
    public async Task Later_batch_items_see_earlier_ones()
    {
        await Fund(Alice, 100);

        var results = await Ledger.ApplyBatchAsync(
        [
            new TransferRequest("p", Alice, AccountIds.Escrow, 100, TransferKind.BidEscrow, Pending: true),
            new PendingResolution("r", "p", Void: false, Amount: 60),
            new TransferRequest("c", AccountIds.Escrow, AccountIds.Treasury, 60, TransferKind.ClearingCharge),
            new TransferRequest("p", Alice, AccountIds.Escrow, 100, TransferKind.BidEscrow, Pending: true),
        ]);

        results[3].ShouldBe(results[0]);
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 40, 0, 0));
        (await Ledger.GetBalanceAsync(AccountIds.Treasury)).Posted.ShouldBe(-40);
    }

    [Fact]
    public async Task An_empty_batch_does_nothing()
    {
        (await Ledger.ApplyBatchAsync([])).ShouldBeEmpty();
        (await CountStoredTransfersAsync()).ShouldBe(0);
    }

    public static TheoryData<string, LedgerError, string> BadTransfers => new()
    {
        { "zero amount", LedgerError.InvalidAmount, "amount 0" },
        { "negative amount", LedgerError.InvalidAmount, "amount -5" },
        { "minimum amount", LedgerError.InvalidAmount, "amount -9223372036854775808" },
        { "overflowing amount", LedgerError.InvalidAmount, "overflow" },
        { "unknown debit account", LedgerError.UnknownAccount, "agent:ghost" },
        { "unknown credit account", LedgerError.UnknownAccount, "agent:ghost" },
        { "same account", LedgerError.SameAccount, "both" },
        { "empty id", LedgerError.InvalidRequest, "empty" },
        { "too long id", LedgerError.InvalidRequest, "at most 128" },
        { "too long memo", LedgerError.InvalidRequest, "at most 256" },
        { "undefined kind", LedgerError.InvalidRequest, "kind 99" },
        { "negative cycle", LedgerError.InvalidRequest, "cycle -1" },
        { "empty account", LedgerError.InvalidRequest, "account id is empty" },
    };

    [Theory]
    [MemberData(nameof(BadTransfers))]
    public async Task Bad_transfer_is_refused_with_a_clear_error_and_changes_nothing(string bad, LedgerError error, string says)
    {
        // The treasury issues every credit it can (long.MaxValue + 1), so one more is an overflow somewhere.
        await Fund(Alice, long.MaxValue - 99);
        await Fund(Bob, 100);
        var ok = new TransferRequest("t", Bob, Alice, 5, TransferKind.Gift);
        var request = bad switch
        {
            "zero amount" => ok with { Amount = 0 },
            "negative amount" => ok with { Amount = -5 },
            "minimum amount" => ok with { Amount = long.MinValue },
            "overflowing amount" => ok with { Amount = 100 },
            "unknown debit account" => ok with { DebitAccountId = "agent:ghost" },
            "unknown credit account" => ok with { CreditAccountId = "agent:ghost" },
            "same account" => ok with { CreditAccountId = Bob },
            "empty id" => ok with { Id = "" },
            "too long id" => ok with { Id = new string('x', 129) },
            "too long memo" => ok with { Memo = new string('m', 257) },
            "undefined kind" => ok with { Kind = (TransferKind)99 },
            "negative cycle" => ok with { Cycle = -1 },
            "empty account" => ok with { CreditAccountId = " " },
            _ => throw new ArgumentOutOfRangeException(nameof(bad)),
        };

        await ShouldFailUnchanged(error, () => Ledger.TransferAsync(request).AsTask(), says);
        await ShouldFailUnchanged(error, () => Ledger.TransferAsync(request with { Pending = true }).AsTask(), says);
        await ShouldFailUnchanged(error, () => Ledger.ApplyBatchAsync([new TransferRequest("first", Alice, AccountIds.Escrow, 1, TransferKind.BidEscrow, Pending: true), request]).AsTask(), says);
    }

    [Fact]
    public async Task Treasury_cannot_overflow_below_the_smallest_balance()
    {
        await Fund(Alice, long.MaxValue);
        await Fund(Bob, 1);
        await Ledger.OpenAccountAsync("agent:carol", AccountKind.Agent);

        await ShouldFailUnchanged(LedgerError.InvalidAmount,
            () => Ledger.TransferAsync(new TransferRequest("more", AccountIds.Treasury, "agent:carol", 1, TransferKind.Endowment)).AsTask(), "overflow");
    }

    [Fact]
    public async Task Accounts_open_once_per_kind()
    {
        await Ledger.OpenAccountAsync(Alice, AccountKind.Agent);
        await Ledger.OpenAccountAsync(Alice, AccountKind.Agent);
        await Ledger.OpenAccountAsync(AccountIds.Treasury, AccountKind.Treasury);

        (await Should.ThrowAsync<LedgerException>(Ledger.OpenAccountAsync(Alice, AccountKind.Escrow).AsTask())).Error.ShouldBe(LedgerError.AccountConflict);
        (await Should.ThrowAsync<LedgerException>(Ledger.OpenAccountAsync("mint2", AccountKind.Treasury).AsTask())).Error.ShouldBe(LedgerError.AccountConflict);
        (await Should.ThrowAsync<LedgerException>(Ledger.OpenAccountAsync("", AccountKind.Agent).AsTask())).Error.ShouldBe(LedgerError.InvalidRequest);
        (await Should.ThrowAsync<LedgerException>(Ledger.GetBalanceAsync("agent:ghost").AsTask())).Error.ShouldBe(LedgerError.UnknownAccount);
        (await Ledger.GetBalancesAsync()).Count.ShouldBe(3);
    }

    [Fact]
    public async Task Transfers_of_an_account_come_newest_first_in_pages()
    {
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);
        for (var i = 1; i <= 5; i++) await Ledger.TransferAsync(new TransferRequest($"g{i}", Alice, Bob, i, TransferKind.Gift));
        await Ledger.TransferAsync(new TransferRequest("p", Alice, AccountIds.Escrow, 10, TransferKind.BidEscrow, Pending: true));
        await Ledger.ResolveAsync(new PendingResolution("r", "p", Void: true));

        if (!KeepsHistory)
        {
            (await Ledger.GetTransfersAsync(Alice, 0, 3)).ShouldBeEmpty();
            return;
        }
        (await Ledger.GetTransfersAsync(Alice, 0, 3)).Select(t => t.Id).ShouldBe(["r", "p", "g5"]);
        (await Ledger.GetTransfersAsync(Alice, 3, 10)).Select(t => t.Id).ShouldBe(["g4", "g3", "g2", "g1", "endow:" + Alice]);
        (await Ledger.GetTransfersAsync(Bob, 0, 100)).Count.ShouldBe(5);
        (await Ledger.GetTransfersAsync(Alice, 1, 1)).Single().State.ShouldBe(TransferState.PendingVoided);
        (await Ledger.GetTransfersAsync(Alice, 50, 10)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Conservation_holds_after_a_mix_of_operations()
    {
        await Fund(Alice, 500);
        await Fund(Bob, 300);
        await Ledger.TransferAsync(new TransferRequest("g", Alice, Bob, 50, TransferKind.Gift));
        await Ledger.TransferAsync(new TransferRequest("p1", Bob, AccountIds.Escrow, 200, TransferKind.BidEscrow, Pending: true));
        await Ledger.TransferAsync(new TransferRequest("p2", Alice, AccountIds.Escrow, 100, TransferKind.BidEscrow, Pending: true));
        await Ledger.ResolveAsync(new PendingResolution("r1", "p1", Void: false, Amount: 120));
        await Ledger.TransferAsync(new TransferRequest("c1", AccountIds.Escrow, AccountIds.Treasury, 120, TransferKind.ClearingCharge));

        var report = await Ledger.CheckConservationAsync();

        report.Holds.ShouldBeTrue();
        report.SumOfPosted.ShouldBe(0);
        report.SumOfPendingOut.ShouldBe(100);
        report.SumOfPendingIn.ShouldBe(100);
        report.NegativeAgentAccounts.ShouldBeEmpty();
        report.TreasuryIssued.ShouldBe(680);
        report.TransfersMatchBalances.ShouldBeTrue();
        report.LogReplayed.ShouldBe(KeepsHistory);
    }

    [Fact]
    public async Task Eight_threads_spending_from_one_account_never_overdraw_and_lose_nothing()
    {
        const long Endowment = 20_000;
        const int Threads = 8, PerThread = 60;
        await Fund(Alice, Endowment);
        for (var k = 0; k < Threads; k++) await Ledger.OpenAccountAsync($"agent:sink{k}", AccountKind.Agent);
        var handles = new ILedger[Threads];
        for (var k = 0; k < Threads; k++) handles[k] = await OpenSecondHandleAsync();
        using var start = new Barrier(Threads);

        // Dedicated threads: the barrier blocks, and the pool would add threads only slowly.
        var workers = Enumerable.Range(0, Threads).Select(k => Task.Factory.StartNew(async () =>
        {
            var ledger = handles[k];
            var random = new Random(1_000 + k);
            long spent = 0, reserved = 0;
            var refused = 0;
            start.SignalAndWait();
            for (var i = 0; i < PerThread; i++)
            {
                var amount = random.NextInt64(1, 200);
                var pending = i % 3 == 0;
                try
                {
                    await ledger.TransferAsync(pending
                        ? new TransferRequest($"w{k}:{i}", Alice, AccountIds.Escrow, amount, TransferKind.BidEscrow, Pending: true)
                        : new TransferRequest($"w{k}:{i}", Alice, $"agent:sink{k}", amount, TransferKind.Gift));
                    if (pending) reserved += amount; else spent += amount;
                }
                catch (LedgerException ex) when (ex.Error == LedgerError.InsufficientFunds)
                {
                    refused++;
                }
            }
            return (spent, reserved, refused);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()).ToArray();
        var outcomes = await Task.WhenAll(workers);

        var spentTotal = outcomes.Sum(o => o.spent);
        var reservedTotal = outcomes.Sum(o => o.reserved);
        outcomes.Sum(o => o.refused).ShouldBeGreaterThan(0, "the test must drive the account to its limit");
        var alice = await Balance(Alice);
        alice.Posted.ShouldBe(Endowment - spentTotal);
        alice.Reserved.ShouldBe(reservedTotal);
        alice.Available.ShouldBeGreaterThanOrEqualTo(0);
        alice.Available.ShouldBeLessThan(200, "refusals happen only when the balance is nearly spent");
        for (var k = 0; k < Threads; k++) (await Balance($"agent:sink{k}")).Posted.ShouldBe(outcomes[k].spent);
        (await Balance(AccountIds.Escrow)).Incoming.ShouldBe(reservedTotal);
        (await CountStoredTransfersAsync()).ShouldBe(1 + Threads * PerThread - outcomes.Sum(o => o.refused));
        (await Ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
    }
}
