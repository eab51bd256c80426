using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Tests.Ledger;

/// <summary>
/// The in-memory ledger's bulk paths for the simulator (ADR 0149): postings by account handle, a batch applied without
/// materialized results, and balance reads by handle. Same rules as the id-keyed operations: all or nothing, no
/// overdraft, conservation.
/// </summary>
public sealed class InMemoryLedgerBulkTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Postings_move_credits_in_order_and_conserve(bool history)
    {
        var ledger = await LedgerWith(history, "agent:a", "agent:b");
        var treasury = ledger.GetAccountHandle(AccountIds.Treasury);
        var a = ledger.GetAccountHandle("agent:a");
        var b = ledger.GetAccountHandle("agent:b");

        // The second posting spends what the first paid in: order matters, as in a linked batch.
        ledger.Post([new Posting(treasury, a, 10), new Posting(a, b, 7)], TransferKind.Gift, cycle: 3, memo: "gift");

        (await ledger.GetBalanceAsync("agent:a")).Posted.ShouldBe(3);
        (await ledger.GetBalanceAsync("agent:b")).Posted.ShouldBe(7);
        ledger.TransferCount.ShouldBe(2);
        var report = await ledger.CheckConservationAsync();
        report.Holds.ShouldBeTrue();
        report.TreasuryIssued.ShouldBe(10);
        if (history)
        {
            report.LogReplayed.ShouldBeTrue();
            var listed = await ledger.GetTransfersAsync("agent:b", 0, 10);
            listed.Single().ShouldBe(new Transfer("posting:2", 2, "agent:a", "agent:b", 7, TransferKind.Gift, TransferState.Posted, 3, "gift"));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_refused_posting_applies_nothing_of_its_batch(bool history)
    {
        var ledger = await LedgerWith(history, "agent:a", "agent:b");
        var treasury = ledger.GetAccountHandle(AccountIds.Treasury);
        var a = ledger.GetAccountHandle("agent:a");
        var b = ledger.GetAccountHandle("agent:b");
        ledger.Post([new Posting(treasury, a, 5)], TransferKind.Endowment);

        var error = Should.Throw<LedgerException>(() =>
            ledger.Post([new Posting(treasury, b, 100), new Posting(a, b, 6)], TransferKind.Gift));

        error.Error.ShouldBe(LedgerError.InsufficientFunds);
        error.Message.ShouldContain("batch item 2 of 2");
        (await ledger.GetBalanceAsync("agent:a")).Posted.ShouldBe(5);
        (await ledger.GetBalanceAsync("agent:b")).Posted.ShouldBe(0);
        ledger.TransferCount.ShouldBe(1);
        (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task Postings_refuse_bad_amounts_one_account_and_foreign_handles()
    {
        var ledger = await LedgerWith(false, "agent:a");
        var other = await LedgerWith(false, "agent:a");
        var treasury = ledger.GetAccountHandle(AccountIds.Treasury);
        var a = ledger.GetAccountHandle("agent:a");

        Should.Throw<LedgerException>(() => ledger.Post([new Posting(treasury, a, 0)], TransferKind.Gift)).Error.ShouldBe(LedgerError.InvalidAmount);
        Should.Throw<LedgerException>(() => ledger.Post([new Posting(a, a, 1)], TransferKind.Gift)).Error.ShouldBe(LedgerError.SameAccount);
        Should.Throw<LedgerException>(() => ledger.Post([new Posting(treasury, other.GetAccountHandle("agent:a"), 1)], TransferKind.Gift))
            .Error.ShouldBe(LedgerError.UnknownAccount);
        Should.Throw<LedgerException>(() => ledger.Post([new Posting(treasury, default, 1)], TransferKind.Gift)).Error.ShouldBe(LedgerError.UnknownAccount);
        Should.Throw<LedgerException>(() => ledger.Post([new Posting(treasury, a, 1)], (TransferKind)999)).Error.ShouldBe(LedgerError.InvalidRequest);
        Should.Throw<LedgerException>(() => ledger.GetAccountHandle("agent:nobody")).Error.ShouldBe(LedgerError.UnknownAccount);
        ledger.TransferCount.ShouldBe(0);
    }

    [Fact]
    public async Task Apply_is_a_linked_batch_with_replays_and_rollback()
    {
        var ledger = await LedgerWith(false, "agent:a");
        List<LedgerOperation> ops =
        [
            new TransferRequest("skip", AccountIds.Treasury, "agent:a", 1, TransferKind.Endowment),
            new TransferRequest("pay", AccountIds.Treasury, "agent:a", 10, TransferKind.Endowment),
            new TransferRequest("bid:1:escrow", "agent:a", AccountIds.Escrow, 8, TransferKind.BidEscrow, Pending: true),
            new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 3),
        ];
        ledger.Apply(ops, 1, 3);
        ledger.Apply(ops, 1, 3); // a replay changes nothing

        (await ledger.GetBalanceAsync("agent:a")).ShouldBe(new AccountBalance("agent:a", 7, 0, 0));
        (await ledger.FindTransferAsync("skip")).ShouldBeNull();

        var overdraft = new List<LedgerOperation>
        {
            new TransferRequest("more", AccountIds.Treasury, "agent:a", 1, TransferKind.Endowment),
            new TransferRequest("too-much", "agent:a", AccountIds.Escrow, 100, TransferKind.BidEscrow, Pending: true),
        };
        Should.Throw<LedgerException>(() => ledger.Apply(overdraft, 0, 2)).Message.ShouldContain("batch item 2 of 2");
        (await ledger.GetBalanceAsync("agent:a")).Posted.ShouldBe(7);
        (await ledger.FindTransferAsync("more")).ShouldBeNull();
        Should.Throw<ArgumentOutOfRangeException>(() => ledger.Apply(ops, 2, 3));
    }

    [Fact]
    public async Task Balances_read_by_handle_match_the_lookup_by_id()
    {
        var ledger = await LedgerWith(false, "agent:a", "agent:b");
        await ledger.TransferAsync(new TransferRequest("pay", AccountIds.Treasury, "agent:a", 10, TransferKind.Endowment));
        await ledger.TransferAsync(new TransferRequest("hold", "agent:a", AccountIds.Escrow, 4, TransferKind.BidEscrow, Pending: true));
        LedgerAccountHandle[] handles = [ledger.GetAccountHandle("agent:a"), ledger.GetAccountHandle("agent:b")];
        var posted = new long[2];
        var available = new long[2];

        ledger.ReadBalances(handles, posted, available);

        posted.ShouldBe([10L, 0L]);
        available.ShouldBe([6L, 0L]);
        Should.Throw<ArgumentException>(() => ledger.ReadBalances(handles, new long[1], available));
    }

    private static async Task<InMemoryLedger> LedgerWith(bool history, params string[] agents)
    {
        var ledger = new InMemoryLedger(history ? InMemoryLedgerOptions.Default : InMemoryLedgerOptions.WithoutHistory);
        foreach (var id in agents)
            await ledger.OpenAccountAsync(id, AccountKind.Agent);
        return ledger;
    }
}
