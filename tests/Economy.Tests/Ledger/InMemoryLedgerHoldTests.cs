using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Tests.Ledger;

/// <summary>
/// Holds by handle (ADR 0150): pending transfers without caller-chosen ids, placed and resolved in bulk. They must keep
/// every rule of the id-keyed pending transfers: all or nothing, no overdraft, one resolution each, conservation.
/// </summary>
public sealed class InMemoryLedgerHoldTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_hold_reserves_and_its_settlement_posts_part_and_returns_the_rest(bool history)
    {
        var (ledger, treasury, a, b) = await Funded(history, 10, 10);
        var escrow = ledger.GetAccountHandle(AccountIds.Escrow);
        var holds = new LedgerHold[2];

        ledger.Hold([new Posting(a, escrow, 8), new Posting(b, escrow, 5)], TransferKind.BidEscrow, holds, cycle: 4);

        (await ledger.GetBalanceAsync("agent:a")).ShouldBe(new AccountBalance("agent:a", 10, 8, 0));
        (await ledger.GetBalanceAsync(AccountIds.Escrow)).Incoming.ShouldBe(13);
        (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();

        ledger.Settle([new HoldResolution(holds[0], 3), new HoldResolution(holds[1], null)], cycle: 4, memo: "cleared");

        (await ledger.GetBalanceAsync("agent:a")).ShouldBe(new AccountBalance("agent:a", 7, 0, 0));
        (await ledger.GetBalanceAsync("agent:b")).ShouldBe(new AccountBalance("agent:b", 10, 0, 0));
        (await ledger.GetBalanceAsync(AccountIds.Escrow)).ShouldBe(new AccountBalance(AccountIds.Escrow, 3, 0, 0));
        ledger.TransferCount.ShouldBe(2 + 2 + 2); // two endowments, two holds, two resolutions
        var report = await ledger.CheckConservationAsync();
        report.Holds.ShouldBeTrue();
        report.LogReplayed.ShouldBe(history);
        if (history)
        {
            // Logged as ordinary pending transfers and resolutions, under generated ids.
            var listed = await ledger.GetTransfersAsync("agent:a", 0, 10);
            listed.Select(t => (t.Id, t.State, t.PostedAmount)).ShouldBe(
            [
                ("hold:3:settle", TransferState.PendingPosted, (long?)3),
                ("hold:3", TransferState.PendingPosted, (long?)3),
                ("setup:agent:a", TransferState.Posted, (long?)null),
            ]);
            (await ledger.FindTransferAsync("hold:4:settle"))!.State.ShouldBe(TransferState.PendingVoided);
            (await ledger.FindTransferAsync("hold:3"))!.ShouldBe(
                new Transfer("hold:3", 3, "agent:a", AccountIds.Escrow, 8, TransferKind.BidEscrow, TransferState.PendingPosted, 4, null, null, 3));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_refused_hold_places_none_of_its_batch(bool history)
    {
        var (ledger, treasury, a, b) = await Funded(history, 10, 2);
        var escrow = ledger.GetAccountHandle(AccountIds.Escrow);
        var holds = new LedgerHold[3];
        var before = await ledger.GetBalancesAsync();

        var error = Should.Throw<LedgerException>(() =>
            ledger.Hold([new Posting(a, escrow, 4), new Posting(a, escrow, 6), new Posting(b, escrow, 3)], TransferKind.BidEscrow, holds));

        error.Error.ShouldBe(LedgerError.InsufficientFunds);
        error.Message.ShouldContain("batch item 3 of 3");
        (await ledger.GetBalancesAsync()).ShouldBe(before);
        ledger.TransferCount.ShouldBe(2);
        (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
        // No handle of the refused batch resolves anything.
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(holds[0], null)])).Error.ShouldBe(LedgerError.PendingNotFound);
        // Together the first two take all of a's 10: an overdraft counts earlier holds of the same batch.
        Should.Throw<LedgerException>(() =>
            ledger.Hold([new Posting(a, escrow, 4), new Posting(a, escrow, 7)], TransferKind.BidEscrow, holds.AsSpan(0, 2)))
            .Error.ShouldBe(LedgerError.InsufficientFunds);
        ledger.Hold([new Posting(a, escrow, 4), new Posting(a, escrow, 6)], TransferKind.BidEscrow, holds.AsSpan(0, 2));
        (await ledger.GetBalanceAsync("agent:a")).Available.ShouldBe(0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_refused_settlement_resolves_none_of_its_batch_and_a_hold_resolves_once(bool history)
    {
        var (ledger, treasury, a, b) = await Funded(history, 10, 10);
        var escrow = ledger.GetAccountHandle(AccountIds.Escrow);
        var holds = new LedgerHold[2];
        ledger.Hold([new Posting(a, escrow, 8), new Posting(b, escrow, 5)], TransferKind.BidEscrow, holds);
        var before = await ledger.GetBalancesAsync();

        // Posting more than the hold, the same hold twice in one batch, a handle of another ledger, a default handle.
        var other = await Funded(history, 10, 10);
        var foreign = new LedgerHold[1];
        other.Ledger.Hold([new Posting(other.A, other.Ledger.GetAccountHandle(AccountIds.Escrow), 1)], TransferKind.BidEscrow, foreign);
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(holds[0], 1), new HoldResolution(holds[1], 6)]))
            .Error.ShouldBe(LedgerError.PostExceedsPending);
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(holds[0], 1), new HoldResolution(holds[0], null)]))
            .Error.ShouldBe(LedgerError.PendingNotFound);
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(holds[1], 1), new HoldResolution(foreign[0], null)]))
            .Message.ShouldContain("batch item 2 of 2");
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(default, null)])).Error.ShouldBe(LedgerError.PendingNotFound);
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(holds[0], -1)])).Error.ShouldBe(LedgerError.PostExceedsPending);
        (await ledger.GetBalancesAsync()).ShouldBe(before);
        ledger.TransferCount.ShouldBe(4);

        ledger.Settle([new HoldResolution(holds[0], 8), new HoldResolution(holds[1], 0)]);
        (await ledger.GetBalanceAsync("agent:a")).ShouldBe(new AccountBalance("agent:a", 2, 0, 0));
        (await ledger.GetBalanceAsync("agent:b")).ShouldBe(new AccountBalance("agent:b", 10, 0, 0));
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(holds[1], null)])).Error.ShouldBe(LedgerError.PendingNotFound);

        // A resolved hold's slot is reused by the next hold; the old handle still resolves nothing.
        var next = new LedgerHold[1];
        ledger.Hold([new Posting(b, escrow, 1)], TransferKind.BidEscrow, next);
        Should.Throw<LedgerException>(() => ledger.Settle([new HoldResolution(holds[0], null), new HoldResolution(holds[1], null)]))
            .Error.ShouldBe(LedgerError.PendingNotFound);
        ledger.Settle([new HoldResolution(next[0], 1)]);
        (await ledger.GetBalanceAsync(AccountIds.Escrow)).ShouldBe(new AccountBalance(AccountIds.Escrow, 9, 0, 0));
        (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task Holds_refuse_bad_amounts_one_account_bad_kinds_and_a_short_handle_span()
    {
        var (ledger, treasury, a, _) = await Funded(false, 10, 0);
        var escrow = ledger.GetAccountHandle(AccountIds.Escrow);
        var holds = new LedgerHold[1];

        Should.Throw<LedgerException>(() => ledger.Hold([new Posting(a, escrow, 0)], TransferKind.BidEscrow, holds)).Error.ShouldBe(LedgerError.InvalidAmount);
        Should.Throw<LedgerException>(() => ledger.Hold([new Posting(a, a, 1)], TransferKind.BidEscrow, holds)).Error.ShouldBe(LedgerError.SameAccount);
        Should.Throw<LedgerException>(() => ledger.Hold([new Posting(a, default, 1)], TransferKind.BidEscrow, holds)).Error.ShouldBe(LedgerError.UnknownAccount);
        Should.Throw<LedgerException>(() => ledger.Hold([new Posting(a, escrow, 1)], (TransferKind)999, holds)).Error.ShouldBe(LedgerError.InvalidRequest);
        Should.Throw<ArgumentException>(() => ledger.Hold([new Posting(a, escrow, 1)], TransferKind.BidEscrow, new LedgerHold[2]));
        ledger.TransferCount.ShouldBe(1);
        (await ledger.GetBalanceAsync("agent:a")).ShouldBe(new AccountBalance("agent:a", 10, 0, 0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Holds_leave_every_balance_where_id_keyed_escrows_do(bool history)
    {
        // 200 seeded cycles of escrow and settlement, once by handle and once by id: the balances never differ.
        var byHandle = new InMemoryLedger(history ? InMemoryLedgerOptions.Default : InMemoryLedgerOptions.WithoutHistory);
        var byId = new InMemoryLedger(history ? InMemoryLedgerOptions.Default : InMemoryLedgerOptions.WithoutHistory);
        const int agents = 20;
        var handles = new LedgerAccountHandle[agents];
        foreach (var ledger in new[] { byHandle, byId })
        {
            for (var i = 0; i < agents; i++)
            {
                await ledger.OpenAccountAsync($"agent:{i}", AccountKind.Agent);
                await ledger.TransferAsync(new TransferRequest($"endow:{i}", AccountIds.Treasury, $"agent:{i}", 100_000, TransferKind.Endowment));
            }
        }
        for (var i = 0; i < agents; i++)
            handles[i] = byHandle.GetAccountHandle($"agent:{i}");
        var escrow = byHandle.GetAccountHandle(AccountIds.Escrow);
        var random = new Random(11);
        for (var cycle = 1; cycle <= 200; cycle++)
        {
            var bidders = Enumerable.Range(0, agents).Where(_ => random.Next(3) > 0).ToArray();
            var amounts = bidders.Select(_ => (long)random.Next(1, 40)).ToArray();
            var posts = amounts.Select(x => random.Next(3) == 0 ? (long?)null : random.NextInt64(0, x + 1)).ToArray();
            var holds = new LedgerHold[bidders.Length];
            byHandle.Hold(bidders.Select((b, k) => new Posting(handles[b], escrow, amounts[k])).ToArray(), TransferKind.BidEscrow, holds, cycle);
            byHandle.Settle(holds.Select((h, k) => new HoldResolution(h, posts[k])).ToArray(), cycle);
            var ops = new List<LedgerOperation>();
            for (var k = 0; k < bidders.Length; k++)
            {
                var id = $"bid:{cycle}:{bidders[k]}:escrow";
                ops.Add(new TransferRequest(id, $"agent:{bidders[k]}", AccountIds.Escrow, amounts[k], TransferKind.BidEscrow, cycle, Pending: true));
                ops.Add(new PendingResolution(id + ":settle", id, Void: posts[k] is null, Amount: posts[k], Cycle: cycle));
            }
            await byId.ApplyBatchAsync(ops);
            (await byHandle.GetBalancesAsync()).ShouldBe(await byId.GetBalancesAsync(), $"cycle {cycle}");
        }
        byHandle.TransferCount.ShouldBe(byId.TransferCount);
        (await byHandle.CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    private static async Task<(InMemoryLedger Ledger, LedgerAccountHandle Treasury, LedgerAccountHandle A, LedgerAccountHandle B)> Funded(
        bool history, long a, long b)
    {
        var ledger = new InMemoryLedger(history ? InMemoryLedgerOptions.Default : InMemoryLedgerOptions.WithoutHistory);
        foreach (var (id, amount) in new[] { ("agent:a", a), ("agent:b", b) })
        {
            await ledger.OpenAccountAsync(id, AccountKind.Agent);
            if (amount > 0)
                await ledger.TransferAsync(new TransferRequest("setup:" + id, AccountIds.Treasury, id, amount, TransferKind.Endowment));
        }
        return (ledger, ledger.GetAccountHandle(AccountIds.Treasury), ledger.GetAccountHandle("agent:a"), ledger.GetAccountHandle("agent:b"));
    }
}
