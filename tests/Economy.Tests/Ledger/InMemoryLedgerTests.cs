using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Tests.Ledger;

/// <summary>The behaviour suite on the in-memory ledger with full history.</summary>
public sealed class InMemoryLedgerTests : LedgerBehaviourTests
{
    private readonly InMemoryLedger _ledger = new();

    protected override Task<ILedger> CreateLedgerAsync() => Task.FromResult<ILedger>(_ledger);

    // One instance is the store; it is thread-safe, so every "handle" is the same object.
    protected override Task<ILedger> OpenSecondHandleAsync() => Task.FromResult<ILedger>(_ledger);

    protected override Task<long> CountStoredTransfersAsync() => Task.FromResult(_ledger.TransferCount);
}

/// <summary>The behaviour suite on the in-memory ledger without history (the simulator's setting).</summary>
public sealed class InMemoryLedgerWithoutHistoryTests : LedgerBehaviourTests
{
    private readonly InMemoryLedger _ledger = new(InMemoryLedgerOptions.WithoutHistory);

    protected override bool KeepsHistory => false;

    protected override Task<ILedger> CreateLedgerAsync() => Task.FromResult<ILedger>(_ledger);

    protected override Task<ILedger> OpenSecondHandleAsync() => Task.FromResult<ILedger>(_ledger);

    protected override Task<long> CountStoredTransfersAsync() => Task.FromResult(_ledger.TransferCount);

    [Fact]
    public async Task Recent_ids_stay_idempotent_and_old_ones_are_forgotten()
    {
        var ledger = new InMemoryLedger(new InMemoryLedgerOptions { RetainHistory = false, RecentIdWindow = 10 });
        await ledger.OpenAccountAsync("agent:a", AccountKind.Agent);
        var first = await ledger.TransferAsync(new TransferRequest("endow", AccountIds.Treasury, "agent:a", 5, TransferKind.Endowment));
        (await ledger.TransferAsync(new TransferRequest("endow", AccountIds.Treasury, "agent:a", 5, TransferKind.Endowment))).ShouldBe(first);

        for (var i = 0; i < 25; i++) await ledger.TransferAsync(new TransferRequest($"r{i}", AccountIds.Treasury, "agent:a", 1, TransferKind.HumanReward));

        (await ledger.FindTransferAsync("endow")).ShouldBeNull();
        (await ledger.FindTransferAsync("r24")).ShouldNotBeNull();
        (await ledger.GetBalanceAsync("agent:a")).Posted.ShouldBe(30);
    }

    [Fact]
    public async Task Unresolved_pending_transfers_are_never_forgotten()
    {
        var ledger = new InMemoryLedger(new InMemoryLedgerOptions { RetainHistory = false, RecentIdWindow = 4 });
        await ledger.OpenAccountAsync("agent:a", AccountKind.Agent);
        await ledger.TransferAsync(new TransferRequest("endow", AccountIds.Treasury, "agent:a", 100, TransferKind.Endowment));
        var escrow = await ledger.TransferAsync(new TransferRequest("bid:1:escrow", "agent:a", AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));
        for (var i = 0; i < 20; i++) await ledger.TransferAsync(new TransferRequest($"r{i}", AccountIds.Treasury, "agent:a", 1, TransferKind.HumanReward));

        (await ledger.TransferAsync(new TransferRequest("bid:1:escrow", "agent:a", AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true))).ShouldBe(escrow);
        (await ledger.ResolveAsync(new PendingResolution("bid:1:settle", "bid:1:escrow", Void: false, Amount: 10))).PostedAmount.ShouldBe(10);
        (await Should.ThrowAsync<LedgerException>(ledger.ResolveAsync(new PendingResolution("bid:1:again", "bid:1:escrow", Void: true)).AsTask()))
            .Error.ShouldBe(LedgerError.PendingAlreadyResolved);
        (await ledger.GetBalanceAsync("agent:a")).ShouldBe(new AccountBalance("agent:a", 110, 0, 0));
        var report = await ledger.CheckConservationAsync();
        report.Holds.ShouldBeTrue();
        report.LogReplayed.ShouldBeFalse();
    }
}
