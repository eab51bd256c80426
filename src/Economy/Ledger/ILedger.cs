namespace CyAgents.Economy.Ledger;

/// <summary>
/// The double-entry credits ledger. Every operation is atomic: it either fully happens or throws
/// <see cref="LedgerException"/> having changed nothing. Implementations: in memory (simulations, tests)
/// and EF Core (SQLite by default, PostgreSQL by configuration); both keep the same invariants.
/// </summary>
public interface ILedger
{
    /// <summary>Opens an account, or returns quietly if it exists with the same kind.</summary>
    ValueTask OpenAccountAsync(string accountId, AccountKind kind, CancellationToken ct = default);

    /// <summary>Moves (or, when <see cref="TransferRequest.Pending"/>, reserves) credits.</summary>
    ValueTask<Transfer> TransferAsync(TransferRequest request, CancellationToken ct = default);

    /// <summary>Posts (fully or in part) or voids a pending transfer, exactly once.</summary>
    ValueTask<Transfer> ResolveAsync(PendingResolution resolution, CancellationToken ct = default);

    /// <summary>
    /// A linked batch: every operation happens, or none does; results come back in the same order.
    /// A later operation sees the effects of earlier ones (e.g. reserve then post in one batch).
    /// </summary>
    ValueTask<IReadOnlyList<Transfer>> ApplyBatchAsync(IReadOnlyList<LedgerOperation> operations, CancellationToken ct = default);

    /// <summary>Balance of one account; throws <see cref="LedgerError.UnknownAccount"/> if absent.</summary>
    ValueTask<AccountBalance> GetBalanceAsync(string accountId, CancellationToken ct = default);

    /// <summary>Balances of every account, ordered by account id (for overviews, metrics and checks).</summary>
    ValueTask<IReadOnlyList<AccountBalance>> GetBalancesAsync(CancellationToken ct = default);

    /// <summary>
    /// A transfer by id, or null. A pending transfer that has been resolved comes back with the state and
    /// posted amount of its resolution (<see cref="TransferState.PendingPosted"/> or <see cref="TransferState.PendingVoided"/>).
    /// </summary>
    ValueTask<Transfer?> FindTransferAsync(string transferId, CancellationToken ct = default);

    /// <summary>Transfers touching an account, newest first.</summary>
    ValueTask<IReadOnlyList<Transfer>> GetTransfersAsync(string accountId, int skip, int take, CancellationToken ct = default);

    /// <summary>Checks double entry and non-negativity over the whole ledger.</summary>
    ValueTask<ConservationReport> CheckConservationAsync(CancellationToken ct = default);
}
