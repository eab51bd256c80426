using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CyAgents.Economy.Ledger;

/// <summary>Options of <see cref="InMemoryLedger"/>.</summary>
public sealed record InMemoryLedgerOptions
{
    /// <summary>
    /// True (default): every transfer is kept, so every id stays idempotent forever, transfers can be listed
    /// and the conservation check replays the whole log. False (simulations over millions of operations):
    /// posted transfers are forgotten once they are older than <see cref="RecentIdWindow"/> operations; ids stay
    /// idempotent only while their pending transfer is unresolved or the id is recent, <see cref="ILedger.GetTransfersAsync"/>
    /// returns nothing, and the conservation check verifies balances without replaying a log.
    /// </summary>
    public bool RetainHistory { get; init; } = true;

    /// <summary>Without history: the number of recent ids that stay idempotent (at least this many, at most twice).</summary>
    public int RecentIdWindow { get; init; } = 65_536;

    /// <summary>The defaults: full history.</summary>
    public static InMemoryLedgerOptions Default { get; } = new();

    /// <summary>For simulations: no history, bounded memory.</summary>
    public static InMemoryLedgerOptions WithoutHistory { get; } = new() { RetainHistory = false };
}

/// <summary>
/// An <see cref="ILedger"/> held in memory, for simulations and tests. Same rules and errors as the database
/// ledger (<see cref="LedgerRules"/>); thread-safe (one lock, operations are short); every call completes
/// synchronously. The treasury and the escrow account exist from the start.
/// </summary>
public sealed class InMemoryLedger : ILedger
{
    private readonly Lock _gate = new();
    private readonly InMemoryLedgerOptions _options;
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    // Transfers are stored as structs inside the dictionaries, not as objects: in a long simulation the
    // stored results would otherwise all survive a few collections and then die, the costliest pattern for the GC.
    // With history: every id. Without: the current generation of recent ids.
    private Dictionary<string, Stored> _ids = new(StringComparer.Ordinal);
    // Without history only: the previous generation, and unresolved pending transfers (never forgotten).
    private Dictionary<string, Stored>? _previousIds;
    private readonly Dictionary<string, Stored>? _open;
    // With history only: transfer ids in sequence order (index = sequence - 1).
    private readonly List<string>? _log;
    private long _sequence;
    private readonly List<Undo> _journal = [];
    // Pending transfers held by handle (Hold/Settle, ADR 0150): a slot per open hold, reused once it is resolved.
    private HoldSlot[] _holds = [];
    // Names this ledger in its hold handles (a number, not a reference, so arrays of handles hold no pointers for the GC).
    private static int s_ledgers;
    private readonly int _ledgerNumber = Interlocked.Increment(ref s_ledgers);
    private int _holdsUsed;
    private int[] _freeHolds = [];
    private int _freeCount;

    /// <summary>A ledger with full history.</summary>
    public InMemoryLedger() : this(InMemoryLedgerOptions.Default) { }

    /// <summary>A ledger with the given options.</summary>
    public InMemoryLedger(InMemoryLedgerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.RetainHistory && options.RecentIdWindow < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "RecentIdWindow must be at least 1.");
        _options = options;
        if (options.RetainHistory)
        {
            _log = [];
        }
        else
        {
            _previousIds = new(StringComparer.Ordinal);
            _open = new(StringComparer.Ordinal);
        }
        _accounts.Add(AccountIds.Treasury, new Account(this, AccountIds.Treasury, AccountKind.Treasury, options.RetainHistory));
        _accounts.Add(AccountIds.Escrow, new Account(this, AccountIds.Escrow, AccountKind.Escrow, options.RetainHistory));
    }

    /// <summary>Number of transfers (including resolutions) recorded so far; the last sequence number.</summary>
    public long TransferCount
    {
        get { lock (_gate) return _sequence; }
    }

    /// <summary>Number of open accounts.</summary>
    public int AccountCount
    {
        get { lock (_gate) return _accounts.Count; }
    }

    /// <inheritdoc />
    public ValueTask OpenAccountAsync(string accountId, AccountKind kind, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled(ct);
        try
        {
            LedgerRules.ValidateAccount(accountId, kind);
            lock (_gate)
            {
                if (_accounts.TryGetValue(accountId, out var existing))
                {
                    if (existing.Kind != kind)
                        throw new LedgerException(LedgerError.AccountConflict,
                            $"account '{accountId}' already exists as {existing.Kind}, not {kind}.");
                    return ValueTask.CompletedTask;
                }
                _accounts.Add(accountId, new Account(this, accountId, kind, _options.RetainHistory));
            }
            return ValueTask.CompletedTask;
        }
        catch (LedgerException ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask<Transfer> TransferAsync(TransferRequest request, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<Transfer>(ct);
        try
        {
            LedgerRules.Validate(request);
            lock (_gate)
            {
                RotateRecentIds();
                return new ValueTask<Transfer>(ApplyTransfer(request, null, materialize: true)!);
            }
        }
        catch (LedgerException ex)
        {
            return ValueTask.FromException<Transfer>(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask<Transfer> ResolveAsync(PendingResolution resolution, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<Transfer>(ct);
        try
        {
            LedgerRules.Validate(resolution);
            lock (_gate)
            {
                RotateRecentIds();
                return new ValueTask<Transfer>(ApplyResolution(resolution, null, materialize: true)!);
            }
        }
        catch (LedgerException ex)
        {
            return ValueTask.FromException<Transfer>(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Transfer>> ApplyBatchAsync(IReadOnlyList<LedgerOperation> operations, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(operations);
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<IReadOnlyList<Transfer>>(ct);
        try
        {
            LedgerRules.Validate(operations);
            var results = new Transfer[operations.Count];
            ApplyLinked(operations, 0, operations.Count, results);
            return new ValueTask<IReadOnlyList<Transfer>>(results);
        }
        catch (LedgerException ex)
        {
            return ValueTask.FromException<IReadOnlyList<Transfer>>(ex);
        }
    }

    /// <summary>
    /// Applies <paramref name="count"/> operations of <paramref name="operations"/> from <paramref name="start"/> as one
    /// linked batch, with the rules and errors of <see cref="ApplyBatchAsync"/>, but returns no transfers. For callers
    /// that read balances, not results: a simulation applies some 20,000 operations a cycle, and building a
    /// <see cref="Transfer"/> for each (and a sub-list per batch) doubled its allocations.
    /// </summary>
    /// <exception cref="LedgerException">An operation is refused; nothing of the batch was applied.</exception>
    public void Apply(IReadOnlyList<LedgerOperation> operations, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, operations.Count - start);
        LedgerRules.Validate(operations, start, count);
        ApplyLinked(operations, start, count, results: null);
    }

    // One linked batch of validated operations under the lock: all apply, or the journal undoes those that did.
    // Results are built only when asked for.
    private void ApplyLinked(IReadOnlyList<LedgerOperation> operations, int start, int count, Transfer[]? results)
    {
        lock (_gate)
        {
            RotateRecentIds();
            // Reused: a fresh journal per batch would put a large array on the LOH for every big
            // settlement and force full GCs in long simulations.
            var journal = _journal;
            var sequence = _sequence;
            var materialize = results is not null;
            var i = 0;
            try
            {
                for (; i < count; i++)
                {
                    var result = operations[start + i] switch
                    {
                        TransferRequest t => ApplyTransfer(t, journal, materialize),
                        PendingResolution r => ApplyResolution(r, journal, materialize),
                        _ => throw new InvalidOperationException("unreachable: validated before"),
                    };
                    if (results is not null)
                        results[i] = result!;
                }
            }
            catch (LedgerException ex)
            {
                Rollback(journal, sequence);
                throw LedgerRules.InBatch(ex, i, count);
            }
            finally
            {
                journal.Clear();
            }
        }
    }

    /// <summary>
    /// Posts <paramref name="postings"/> as one linked batch of <paramref name="kind"/> transfers: all of them, in order,
    /// or none (the error names the first refused one). Same checks as a <see cref="TransferRequest"/> (whole credits
    /// above 0, two different accounts, funds available unless the debit is the treasury, no overflow), but a posting
    /// carries no caller-chosen id, so it is not an idempotency key: it is for movements a program makes exactly once
    /// and in bulk, such as a simulation paying 10,000 agents their income every cycle (ADR 0149). With history each
    /// posting is logged under the id <c>posting:&lt;sequence&gt;</c>, listed and replayed like any transfer.
    /// </summary>
    /// <exception cref="LedgerException">A posting is refused; nothing of the batch was applied.</exception>
    public void Post(ReadOnlySpan<Posting> postings, TransferKind kind, long? cycle = null, string? memo = null)
    {
        var probe = new TransferRequest("posting", AccountIds.Treasury, AccountIds.Escrow, 1, kind, cycle, memo);
        LedgerRules.Validate(probe);
        lock (_gate)
        {
            RotateRecentIds();
            // Without history a posting changes two balances and nothing else, so a refused batch is undone by walking back
            // the postings that succeeded; a journal of 20,000 snapshots a cycle was most of what paying income cost.
            var journal = _log is null ? null : _journal;
            var sequence = _sequence;
            var i = 0;
            try
            {
                for (; i < postings.Length; i++)
                    ApplyPosting(postings[i], kind, cycle, memo, journal);
            }
            catch (LedgerException ex)
            {
                if (journal is not null)
                {
                    Rollback(journal, sequence);
                }
                else
                {
                    for (var j = i - 1; j >= 0; j--)
                    {
                        postings[j].Debit.Account!.Posted += postings[j].Amount;
                        postings[j].Credit.Account!.Posted -= postings[j].Amount;
                    }
                    _sequence = sequence;
                }
                throw LedgerRules.InBatch(ex, i, postings.Length);
            }
            finally
            {
                journal?.Clear();
            }
        }
    }

    /// <summary>
    /// Places <paramref name="holds"/> as pending <paramref name="kind"/> transfers, all of them in order or none, and
    /// writes a handle for each into <paramref name="handles"/> (same length). A hold reserves its amount on the debit
    /// account exactly as a pending <see cref="TransferRequest"/> does, with the same checks (whole credits above 0, two
    /// different accounts, funds available unless the debit is the treasury, no overflow), but it carries no caller-chosen
    /// id: it is for a program that holds and resolves each amount exactly once, such as a simulation escrowing 10,000
    /// bids a cycle (ADR 0150). Resolve it with <see cref="Settle"/>. With history a hold is logged as the pending transfer
    /// <c>hold:&lt;sequence&gt;</c>, listed and replayed like any other.
    /// </summary>
    /// <exception cref="LedgerException">A hold is refused; nothing of the batch was applied and no handle was written.</exception>
    public void Hold(ReadOnlySpan<Posting> holds, TransferKind kind, Span<LedgerHold> handles, long? cycle = null, string? memo = null)
    {
        if (handles.Length != holds.Length)
            throw new ArgumentException("handles must have one entry per hold", nameof(handles));
        LedgerRules.Validate(new TransferRequest("hold", AccountIds.Treasury, AccountIds.Escrow, 1, kind, cycle, memo, Pending: true));
        lock (_gate)
        {
            RotateRecentIds();
            var journal = _log is null ? null : _journal;
            var sequence = _sequence;
            var i = 0;
            try
            {
                for (; i < holds.Length; i++)
                    handles[i] = ApplyHold(holds[i], kind, cycle, memo, journal);
            }
            catch (LedgerException ex)
            {
                // Undone in reverse: each step is the exact inverse of one that succeeded.
                if (journal is not null)
                    Rollback(journal, sequence);
                for (var j = i - 1; j >= 0; j--)
                {
                    ref var slot = ref _holds[handles[j].Slot];
                    if (journal is null)
                    {
                        slot.Debit.Reserved -= slot.Amount;
                        slot.Credit.Incoming -= slot.Amount;
                    }
                    FreeHold(ref slot, handles[j].Slot);
                }
                _sequence = sequence;
                handles.Clear();
                throw LedgerRules.InBatch(ex, i, holds.Length);
            }
            finally
            {
                journal?.Clear();
            }
        }
    }

    /// <summary>
    /// Resolves holds of <see cref="Hold"/>, all of them or none: a resolution with a <see cref="HoldResolution.Post"/>
    /// posts that much of the hold (0 up to its amount) and returns the rest to the debit account; one without voids it.
    /// The same rules as a <see cref="PendingResolution"/>: a hold resolves once, and a handle of another ledger, or of a
    /// hold already resolved, is <see cref="LedgerError.PendingNotFound"/>. With history each resolution is logged as
    /// <c>hold:&lt;sequence&gt;:settle</c>.
    /// </summary>
    /// <exception cref="LedgerException">A resolution is refused; nothing of the batch was applied.</exception>
    public void Settle(ReadOnlySpan<HoldResolution> resolutions, long? cycle = null, string? memo = null)
    {
        LedgerRules.Validate(new PendingResolution("hold:settle", "hold", Void: true, Cycle: cycle, Memo: memo));
        lock (_gate)
        {
            RotateRecentIds();
            var journal = _log is null ? null : _journal;
            var sequence = _sequence;
            var i = 0;
            try
            {
                for (; i < resolutions.Length; i++)
                    ApplyHoldResolution(resolutions[i], cycle, memo, journal);
            }
            catch (LedgerException ex)
            {
                if (journal is not null)
                    Rollback(journal, sequence);
                for (var j = i - 1; j >= 0; j--)
                {
                    ref var slot = ref _holds[resolutions[j].Hold.Slot];
                    if (journal is null)
                    {
                        var post = resolutions[j].Post ?? 0;
                        slot.Debit.Posted += post;
                        slot.Debit.Reserved += slot.Amount;
                        slot.Credit.Posted -= post;
                        slot.Credit.Incoming += slot.Amount;
                    }
                    slot.Open = true;
                }
                _sequence = sequence;
                throw LedgerRules.InBatch(ex, i, resolutions.Length);
            }
            finally
            {
                journal?.Clear();
            }
            // Only a whole batch frees its slots, so a refused one leaves every hold as it was.
            for (var j = 0; j < resolutions.Length; j++)
                FreeHold(ref _holds[resolutions[j].Hold.Slot], resolutions[j].Hold.Slot);
        }
    }

    /// <summary>
    /// A handle on an open account, for reading its balance many times without a lookup by id
    /// (<see cref="ReadBalances"/>). Throws <see cref="LedgerError.UnknownAccount"/> if the account is absent.
    /// </summary>
    public LedgerAccountHandle GetAccountHandle(string accountId)
    {
        lock (_gate)
        {
            return accountId is not null && _accounts.TryGetValue(accountId, out var a)
                ? new LedgerAccountHandle(a)
                : throw LedgerRules.UnknownAccount(accountId ?? "(null)");
        }
    }

    /// <summary>
    /// Reads the posted and available balance of every account in <paramref name="accounts"/> at one moment (under one
    /// lock), into the spans of the same length; an empty span is a figure not wanted. A handle of another ledger is
    /// <see cref="LedgerError.UnknownAccount"/>.
    /// </summary>
    public void ReadBalances(ReadOnlySpan<LedgerAccountHandle> accounts, Span<long> posted, Span<long> available)
    {
        if (posted.Length is not 0 && posted.Length != accounts.Length || available.Length is not 0 && available.Length != accounts.Length)
            throw new ArgumentException("posted and available must each be empty or have one entry per account");
        var wantPosted = posted.Length != 0;
        var wantAvailable = available.Length != 0;
        lock (_gate)
        {
            for (var i = 0; i < accounts.Length; i++)
            {
                var a = Owned(accounts[i], "read");
                if (wantPosted) posted[i] = a.Posted;
                if (wantAvailable) available[i] = a.Posted - a.Reserved;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<AccountBalance> GetBalanceAsync(string accountId, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<AccountBalance>(ct);
        lock (_gate)
        {
            return accountId is not null && _accounts.TryGetValue(accountId, out var a)
                ? new ValueTask<AccountBalance>(a.ToBalance())
                : ValueTask.FromException<AccountBalance>(LedgerRules.UnknownAccount(accountId ?? "(null)"));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AccountBalance>> GetBalancesAsync(CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<IReadOnlyList<AccountBalance>>(ct);
        AccountBalance[] balances;
        lock (_gate)
        {
            balances = new AccountBalance[_accounts.Count];
            var i = 0;
            foreach (var a in _accounts.Values) balances[i++] = a.ToBalance();
        }
        Array.Sort(balances, static (x, y) => string.CompareOrdinal(x.AccountId, y.AccountId));
        return new ValueTask<IReadOnlyList<AccountBalance>>(balances);
    }

    /// <inheritdoc />
    public ValueTask<Transfer?> FindTransferAsync(string transferId, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<Transfer?>(ct);
        lock (_gate)
        {
            if (transferId is null) return new ValueTask<Transfer?>((Transfer?)null);
            ref var stored = ref Find(transferId, out _);
            return new ValueTask<Transfer?>(Unsafe.IsNullRef(ref stored) ? null : stored.View(transferId));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Transfer>> GetTransfersAsync(string accountId, int skip, int take, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<IReadOnlyList<Transfer>>(ct);
        if (skip < 0 || take < 0)
            return ValueTask.FromException<IReadOnlyList<Transfer>>(
                new LedgerException(LedgerError.InvalidRequest, $"skip ({skip}) and take ({take}) must not be negative."));
        lock (_gate)
        {
            if (accountId is null || !_accounts.TryGetValue(accountId, out var a))
                return ValueTask.FromException<IReadOnlyList<Transfer>>(LedgerRules.UnknownAccount(accountId ?? "(null)"));
            var list = a.Transfers;
            if (list is null || skip >= list.Count) return new ValueTask<IReadOnlyList<Transfer>>(Array.Empty<Transfer>());
            var count = (int)Math.Min(take, (long)list.Count - skip);
            var result = new Transfer[count];
            for (var i = 0; i < count; i++)
            {
                var id = _log![(int)(list[list.Count - 1 - skip - i] - 1)];
                result[i] = _ids[id].View(id);
            }
            return new ValueTask<IReadOnlyList<Transfer>>(result);
        }
    }

    /// <inheritdoc />
    public ValueTask<ConservationReport> CheckConservationAsync(CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<ConservationReport>(ct);
        lock (_gate)
        {
            var replayed = _log is not null;
            var matches = !replayed || ReplayMatches();
            return new ValueTask<ConservationReport>(LedgerRules.Conservation(
                _accounts.Values.Select(a => (a.Id, a.Kind, a.Posted, a.Reserved, a.Incoming)), matches) with { LogReplayed = replayed });
        }
    }

    // Rebuilds every balance from the log alone and compares: catches any balance update that bypassed a transfer.
    private bool ReplayMatches()
    {
        var sums = new Dictionary<string, (long Posted, long Reserved, long Incoming)>(_accounts.Count, StringComparer.Ordinal);
        foreach (var id in _accounts.Keys) sums[id] = default;
        foreach (var id in _log!)
        {
            var t = _ids[id];
            if (!sums.TryGetValue(t.DebitAccountId, out var d) || !sums.TryGetValue(t.CreditAccountId, out var c)) return false;
            unchecked
            {
                if (t.PendingId is not null)
                {
                    var moved = t.PostedAmount ?? 0;
                    d = (d.Posted - moved, d.Reserved - t.Amount, d.Incoming);
                    c = (c.Posted + moved, c.Reserved, c.Incoming - t.Amount);
                }
                else if (t.State == TransferState.Pending)
                {
                    d = (d.Posted, d.Reserved + t.Amount, d.Incoming);
                    c = (c.Posted, c.Reserved, c.Incoming + t.Amount);
                }
                else
                {
                    d = (d.Posted - t.Amount, d.Reserved, d.Incoming);
                    c = (c.Posted + t.Amount, c.Reserved, c.Incoming);
                }
            }
            sums[t.DebitAccountId] = d;
            sums[t.CreditAccountId] = c;
        }
        foreach (var a in _accounts.Values)
            if (sums[a.Id] != (a.Posted, a.Reserved, a.Incoming)) return false;
        return true;
    }

    // ---- the core; callers hold _gate and have run the static validation ----

    // The checks every movement by handle starts with: both accounts this ledger's, a whole amount above 0, two accounts.
    // The label names the movement in errors and, with history, is its id (<prefix>:<sequence>).
    private (Account Debit, Account Credit, string Label) Endpoints(in Posting p, string prefix)
    {
        var debit = Owned(p.Debit, "debit");
        var credit = Owned(p.Credit, "credit");
        var label = _log is null ? prefix : prefix + ":" + (_sequence + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (p.Amount <= 0)
            throw new LedgerException(LedgerError.InvalidAmount,
                $"'{label}': amount {p.Amount} is not allowed; amounts are whole credits greater than 0.");
        if (ReferenceEquals(debit, credit))
            throw new LedgerException(LedgerError.SameAccount,
                $"'{label}': debit and credit account are both '{debit.Id}'; a transfer must move credits between two accounts.");
        return (debit, credit, label);
    }

    private void ApplyPosting(in Posting p, TransferKind kind, long? cycle, string? memo, List<Undo>? journal)
    {
        var (debit, credit, label) = Endpoints(p, "posting");
        if (debit.Kind != AccountKind.Treasury && debit.Posted - debit.Reserved < p.Amount)
            throw LedgerRules.InsufficientFunds(label, debit.Id, debit.Posted - debit.Reserved, p.Amount);
        var debitPosted = LedgerRules.Subtract(debit.Posted, p.Amount, label, debit.Id);
        var creditPosted = LedgerRules.Add(credit.Posted, p.Amount, label, credit.Id);
        Snapshot(journal, debit);
        Snapshot(journal, credit);
        debit.Posted = debitPosted;
        credit.Posted = creditPosted;
        ++_sequence;
        if (_log is null)
            return;
        // With history a posting is a transfer like any other, so listing and the replay check see it.
        if (!Unsafe.IsNullRef(ref Find(label, out _)))
            throw new LedgerException(LedgerError.IdConflict, $"id '{label}' was already used by a transfer; postings need it for their own.");
        Record(label, new Stored
        {
            Sequence = _sequence, DebitAccountId = debit.Id, CreditAccountId = credit.Id, Amount = p.Amount, Kind = kind,
            State = TransferState.Posted, Cycle = cycle, Memo = memo,
        }, debit, credit, journal);
    }

    private LedgerHold ApplyHold(in Posting p, TransferKind kind, long? cycle, string? memo, List<Undo>? journal)
    {
        var (debit, credit, label) = Endpoints(p, "hold");
        string? id = null;
        if (journal is not null)
        {
            // With history a hold is an ordinary pending transfer under a generated id, so listing and replay see it.
            id = label;
            if (!Unsafe.IsNullRef(ref Find(id, out _)))
                throw new LedgerException(LedgerError.IdConflict, $"id '{id}' was already used by a transfer; holds need it for their own.");
            ApplyTransfer(new TransferRequest(id, debit.Id, credit.Id, p.Amount, kind, cycle, memo, Pending: true), journal, materialize: false);
        }
        else
        {
            if (debit.Kind != AccountKind.Treasury && debit.Posted - debit.Reserved < p.Amount)
                throw LedgerRules.InsufficientFunds(label, debit.Id, debit.Posted - debit.Reserved, p.Amount);
            var debitReserved = LedgerRules.Add(debit.Reserved, p.Amount, label, debit.Id);
            var creditIncoming = LedgerRules.Add(credit.Incoming, p.Amount, label, credit.Id);
            // Refuse now what could not be posted later, so a hold never gets stuck.
            LedgerRules.Add(credit.Posted, creditIncoming, label, credit.Id);
            debit.Reserved = debitReserved;
            credit.Incoming = creditIncoming;
            ++_sequence;
        }
        var at = TakeHold();
        ref var slot = ref _holds[at];
        slot.Debit = debit;
        slot.Credit = credit;
        slot.Amount = p.Amount;
        slot.Id = id;
        slot.Open = true;
        return new LedgerHold(_ledgerNumber, at, slot.Generation);
    }

    private void ApplyHoldResolution(in HoldResolution r, long? cycle, string? memo, List<Undo>? journal)
    {
        var h = r.Hold;
        if (h.Ledger != _ledgerNumber || (uint)h.Slot >= (uint)_holdsUsed || _holds[h.Slot].Generation != h.Generation || !_holds[h.Slot].Open)
            throw new LedgerException(LedgerError.PendingNotFound, "the hold handle is not an open hold of this ledger (never placed here, or already resolved).");
        ref var slot = ref _holds[h.Slot];
        var post = r.Post ?? 0;
        if (post < 0 || post > slot.Amount)
            throw new LedgerException(LedgerError.PostExceedsPending, $"a hold of {slot.Amount} cannot post {post}; a resolution posts 0 up to the hold's amount.");
        if (journal is not null)
        {
            ApplyResolution(new PendingResolution(slot.Id + ":settle", slot.Id!, Void: r.Post is null, Amount: r.Post, Cycle: cycle, Memo: memo),
                journal, materialize: false);
        }
        else
        {
            var debit = slot.Debit;
            var credit = slot.Credit;
            var debitPosted = debit.Kind == AccountKind.Treasury ? LedgerRules.Subtract(debit.Posted, post, "hold", debit.Id) : debit.Posted - post;
            var creditPosted = LedgerRules.Add(credit.Posted, post, "hold", credit.Id);
            debit.Posted = debitPosted;
            debit.Reserved -= slot.Amount;
            credit.Posted = creditPosted;
            credit.Incoming -= slot.Amount;
            ++_sequence;
        }
        slot.Open = false;
    }

    private int TakeHold()
    {
        if (_freeCount > 0)
            return _freeHolds[--_freeCount];
        if (_holdsUsed == _holds.Length)
            Array.Resize(ref _holds, Math.Max(256, _holds.Length * 2));
        return _holdsUsed++;
    }

    // A freed slot's generation moves on, so a handle kept past its resolution no longer matches.
    private void FreeHold(ref HoldSlot slot, int at)
    {
        slot.Open = false;
        slot.Generation++;
        slot.Id = null;
        if (_freeCount == _freeHolds.Length)
            Array.Resize(ref _freeHolds, Math.Max(256, _freeHolds.Length * 2));
        _freeHolds[_freeCount++] = at;
    }

    private Account Owned(LedgerAccountHandle handle, string side)
    {
        var a = handle.Account;
        if (a is null || !ReferenceEquals(a.Owner, this))
            throw new LedgerException(LedgerError.UnknownAccount, $"the {side} account handle is not one of this ledger's accounts.");
        return a;
    }

    // Returns the transfer only when asked to materialize it; a replay always returns the first result.
    private Transfer? ApplyTransfer(TransferRequest r, List<Undo>? journal, bool materialize)
    {
        ref var existing = ref Find(r.Id, out _);
        if (!Unsafe.IsNullRef(ref existing)) return LedgerRules.Replay(existing.ToTransfer(r.Id), r);
        var debit = GetAccount(r.DebitAccountId);
        var credit = GetAccount(r.CreditAccountId);
        var amount = r.Amount;
        long debitPosted = debit.Posted, debitReserved = debit.Reserved, creditPosted = credit.Posted, creditIncoming = credit.Incoming;
        if (debit.Kind != AccountKind.Treasury && debit.Posted - debit.Reserved < amount)
            throw LedgerRules.InsufficientFunds(r.Id, debit.Id, debit.Posted - debit.Reserved, amount);
        if (r.Pending)
        {
            debitReserved = LedgerRules.Add(debit.Reserved, amount, r.Id, debit.Id);
            creditIncoming = LedgerRules.Add(credit.Incoming, amount, r.Id, credit.Id);
            // Refuse now what could not be posted later, so an escrow never gets stuck.
            LedgerRules.Add(credit.Posted, creditIncoming, r.Id, credit.Id);
        }
        else
        {
            debitPosted = LedgerRules.Subtract(debit.Posted, amount, r.Id, debit.Id);
            creditPosted = LedgerRules.Add(credit.Posted, amount, r.Id, credit.Id);
        }
        // Nothing can fail from here on.
        Snapshot(journal, debit);
        Snapshot(journal, credit);
        debit.Posted = debitPosted;
        debit.Reserved = debitReserved;
        credit.Posted = creditPosted;
        credit.Incoming = creditIncoming;
        var stored = new Stored
        {
            Sequence = ++_sequence, DebitAccountId = r.DebitAccountId, CreditAccountId = r.CreditAccountId, Amount = amount,
            Kind = r.Kind, State = r.Pending ? TransferState.Pending : TransferState.Posted, Cycle = r.Cycle, Memo = r.Memo,
        };
        Record(r.Id, stored, debit, credit, journal);
        return materialize ? stored.ToTransfer(r.Id) : null;
    }

    private Transfer? ApplyResolution(PendingResolution r, List<Undo>? journal, bool materialize)
    {
        ref var existing = ref Find(r.Id, out _);
        if (!Unsafe.IsNullRef(ref existing)) return LedgerRules.Replay(existing.ToTransfer(r.Id), r);
        ref var pending = ref Find(r.PendingId, out var owner);
        if (Unsafe.IsNullRef(ref pending) || pending.State != TransferState.Pending || pending.PendingId is not null)
            throw LedgerRules.PendingNotFound(r.Id, r.PendingId);
        if (pending.ResolvedBy is { } by)
            throw LedgerRules.AlreadyResolved(r.Id, r.PendingId, by, pending.ResolvedState, pending.ResolvedPosted);
        var post = r.Void ? 0 : r.Amount ?? pending.Amount;
        if (post > pending.Amount) throw LedgerRules.PostExceedsPending(r.Id, r.PendingId, post, pending.Amount);
        var debit = GetAccount(pending.DebitAccountId);
        var credit = GetAccount(pending.CreditAccountId);
        var debitPosted = debit.Kind == AccountKind.Treasury ? LedgerRules.Subtract(debit.Posted, post, r.Id, debit.Id) : debit.Posted - post;
        var creditPosted = LedgerRules.Add(credit.Posted, post, r.Id, credit.Id);
        Snapshot(journal, debit);
        Snapshot(journal, credit);
        debit.Posted = debitPosted;
        debit.Reserved -= pending.Amount;
        credit.Posted = creditPosted;
        credit.Incoming -= pending.Amount;
        var state = r.Void ? TransferState.PendingVoided : TransferState.PendingPosted;
        var stored = new Stored
        {
            Sequence = ++_sequence, DebitAccountId = pending.DebitAccountId, CreditAccountId = pending.CreditAccountId,
            Amount = pending.Amount, Kind = pending.Kind, State = state, Cycle = r.Cycle, Memo = r.Memo, PendingId = r.PendingId,
            PostedAmount = post,
        };
        // Mark through the ref before any dictionary grows (a resize would leave the ref behind).
        pending.ResolvedBy = r.Id;
        pending.ResolvedState = state;
        pending.ResolvedPosted = post;
        journal?.Add(new Undo(UndoKind.Resolved, null, 0, 0, 0, r.PendingId));
        if (_open is not null && ReferenceEquals(owner, _open))
        {
            // Resolved: it leaves the never-forgotten set and ages out with the recent ids.
            var moved = pending;
            _open.Remove(r.PendingId);
            _ids[r.PendingId] = moved;
        }
        Record(r.Id, stored, debit, credit, journal);
        return materialize ? stored.ToTransfer(r.Id) : null;
    }

    private void Record(string id, in Stored t, Account debit, Account credit, List<Undo>? journal)
    {
        var target = t.State == TransferState.Pending && _open is not null ? _open : _ids;
        target.Add(id, t);
        journal?.Add(new Undo(UndoKind.Recorded, null, 0, 0, 0, id));
        if (_log is not null)
        {
            _log.Add(id);
            debit.Transfers!.Add(t.Sequence);
            credit.Transfers!.Add(t.Sequence);
        }
    }

    private static void Snapshot(List<Undo>? journal, Account a) =>
        journal?.Add(new Undo(UndoKind.Balances, a, a.Posted, a.Reserved, a.Incoming, null));

    private void Rollback(List<Undo> journal, long sequence)
    {
        for (var i = journal.Count - 1; i >= 0; i--)
        {
            var u = journal[i];
            switch (u.Kind)
            {
                case UndoKind.Balances:
                    u.Account!.Posted = u.Posted;
                    u.Account.Reserved = u.Reserved;
                    u.Account.Incoming = u.Incoming;
                    break;
                case UndoKind.Recorded:
                    var id = u.Id!;
                    if (_log is not null)
                    {
                        var t = _ids[id];
                        _log.RemoveAt(_log.Count - 1);
                        RemoveLast(_accounts[t.DebitAccountId].Transfers!);
                        RemoveLast(_accounts[t.CreditAccountId].Transfers!);
                    }
                    if (!_ids.Remove(id)) _open?.Remove(id);
                    break;
                case UndoKind.Resolved:
                    ref var pending = ref Find(u.Id!, out var owner);
                    pending.ResolvedBy = null;
                    pending.ResolvedState = default;
                    pending.ResolvedPosted = 0;
                    if (_open is not null && !ReferenceEquals(owner, _open))
                    {
                        var moved = pending;
                        owner!.Remove(u.Id!);
                        _open[u.Id!] = moved;
                    }
                    break;
            }
        }
        _sequence = sequence;
    }

    private static void RemoveLast(List<long> list) => list.RemoveAt(list.Count - 1);

    // A reference to the stored transfer in whichever dictionary holds it, or a null reference.
    private ref Stored Find(string id, out Dictionary<string, Stored>? owner)
    {
        ref var s = ref CollectionsMarshal.GetValueRefOrNullRef(_ids, id);
        owner = _ids;
        if (!Unsafe.IsNullRef(ref s)) return ref s;
        if (_open is not null)
        {
            s = ref CollectionsMarshal.GetValueRefOrNullRef(_open, id);
            owner = _open;
            if (!Unsafe.IsNullRef(ref s)) return ref s;
        }
        if (_previousIds is not null)
        {
            s = ref CollectionsMarshal.GetValueRefOrNullRef(_previousIds, id);
            owner = _previousIds;
            if (!Unsafe.IsNullRef(ref s)) return ref s;
        }
        owner = null;
        return ref Unsafe.NullRef<Stored>();
    }

    // Without history, recent ids live in two generations; the older one is dropped when the newer fills.
    // Only done between top-level operations, so a batch never loses ids it has just written.
    private void RotateRecentIds()
    {
        if (_previousIds is null || _ids.Count < _options.RecentIdWindow) return;
        var recycled = _previousIds;
        recycled.Clear();
        _previousIds = _ids;
        _ids = recycled;
    }

    private Account GetAccount(string id) =>
        _accounts.TryGetValue(id, out var a) ? a : throw LedgerRules.UnknownAccount(id);

    internal sealed class Account(InMemoryLedger owner, string id, AccountKind kind, bool keepTransfers)
    {
        public readonly InMemoryLedger Owner = owner;
        public readonly string Id = id;
        public readonly AccountKind Kind = kind;
        public long Posted;
        public long Reserved;
        public long Incoming;
        // With history: sequence numbers of the transfers touching this account, oldest first.
        public readonly List<long>? Transfers = keepTransfers ? [] : null;

        public AccountBalance ToBalance() => new(Id, Posted, Reserved, Incoming);
    }

    // One stored transfer, plus (for a pending one) how it was resolved.
    private struct Stored
    {
        public long Sequence;
        public string DebitAccountId;
        public string CreditAccountId;
        public long Amount;
        public TransferKind Kind;
        public TransferState State;
        public long? Cycle;
        public string? Memo;
        public string? PendingId;
        public long? PostedAmount;
        public string? ResolvedBy;
        public TransferState ResolvedState;
        public long ResolvedPosted;

        public readonly Transfer ToTransfer(string id) =>
            new(id, Sequence, DebitAccountId, CreditAccountId, Amount, Kind, State, Cycle, Memo, PendingId, PostedAmount);

        // What readers see: a resolved pending transfer carries its resolution's state and posted amount.
        public readonly Transfer View(string id) => ResolvedBy is null
            ? ToTransfer(id)
            : new(id, Sequence, DebitAccountId, CreditAccountId, Amount, Kind, ResolvedState, Cycle, Memo, PendingId, ResolvedPosted);
    }

    // One hold of Hold/Settle: its accounts and amount while open (Id only with history).
    private struct HoldSlot
    {
        public Account Debit;
        public Account Credit;
        public long Amount;
        public string? Id;
        public int Generation;
        public bool Open;
    }

    private enum UndoKind : byte { Balances, Recorded, Resolved }

    private readonly record struct Undo(UndoKind Kind, Account? Account, long Posted, long Reserved, long Incoming, string? Id);
}

/// <summary>An account of an <see cref="InMemoryLedger"/>, held for repeated balance reads (<see cref="InMemoryLedger.ReadBalances"/>).</summary>
public readonly struct LedgerAccountHandle
{
    internal LedgerAccountHandle(InMemoryLedger.Account account) => Account = account;

    internal InMemoryLedger.Account? Account { get; }
}

/// <summary>One posting of <see cref="InMemoryLedger.Post"/>: credits from one account to another, both held by handle.</summary>
/// <param name="Debit">The account the credits leave.</param>
/// <param name="Credit">The account the credits enter.</param>
/// <param name="Amount">Whole credits, above 0.</param>
public readonly record struct Posting(LedgerAccountHandle Debit, LedgerAccountHandle Credit, long Amount);

/// <summary>A pending transfer placed by <see cref="InMemoryLedger.Hold"/>, to be resolved once by <see cref="InMemoryLedger.Settle"/>.</summary>
public readonly struct LedgerHold
{
    internal LedgerHold(int ledger, int slot, int generation)
    {
        Ledger = ledger;
        Slot = slot;
        Generation = generation;
    }

    // The ledger's number (0: no ledger's; a default handle).
    internal int Ledger { get; }

    internal int Slot { get; }

    internal int Generation { get; }
}

/// <summary>How <see cref="InMemoryLedger.Settle"/> resolves one hold.</summary>
/// <param name="Hold">The hold.</param>
/// <param name="Post">What of the hold is posted to its credit account (0 up to its amount; the rest returns); null voids it.</param>
public readonly record struct HoldResolution(LedgerHold Hold, long? Post);
