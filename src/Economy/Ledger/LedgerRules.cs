namespace CyAgents.Economy.Ledger;

/// <summary>
/// The rules every <see cref="ILedger"/> implementation shares: validation of requests, the idempotency
/// comparison, overflow-checked arithmetic and the error messages. One copy, so the in-memory and the
/// database ledger cannot drift apart in what they accept or how they say no.
/// </summary>
public static class LedgerRules
{
    /// <summary>Longest transfer, resolution or account id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Longest memo.</summary>
    public const int MaxMemoLength = 256;

    /// <summary>Throws <see cref="LedgerError.InvalidRequest"/> unless <paramref name="id"/> is a usable id.</summary>
    public static void ValidateId(string? id, string what)
    {
        if (string.IsNullOrWhiteSpace(id))
            throw new LedgerException(LedgerError.InvalidRequest, $"{what} id is empty; give a non-blank id of at most {MaxIdLength} characters.");
        if (id.Length > MaxIdLength)
            throw new LedgerException(LedgerError.InvalidRequest, $"{what} id '{Shorten(id)}' has {id.Length} characters; at most {MaxIdLength} are allowed.");
    }

    /// <summary>Validates an account id and kind for <see cref="ILedger.OpenAccountAsync"/>.</summary>
    public static void ValidateAccount(string accountId, AccountKind kind)
    {
        ValidateId(accountId, "account");
        if (!Enum.IsDefined(kind))
            throw new LedgerException(LedgerError.InvalidRequest, $"account '{accountId}': kind {(int)kind} is not an account kind.");
        // One mint: if several accounts could go negative, "credits only enter through the treasury" would not hold.
        if ((kind == AccountKind.Treasury) != (accountId == AccountIds.Treasury))
            throw new LedgerException(LedgerError.AccountConflict,
                $"account '{accountId}': only the account '{AccountIds.Treasury}' is the treasury, and it is always of kind Treasury.");
    }

    /// <summary>Checks everything about a transfer request that needs no balances.</summary>
    public static void Validate(TransferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateId(request.Id, "transfer");
        ValidateCommon(request.Id, request.Memo, request.Cycle);
        if (!IsDefined(request.Kind))
            throw new LedgerException(LedgerError.InvalidRequest, $"transfer '{request.Id}': kind {(int)request.Kind} is not a transfer kind.");
        if (request.Amount <= 0)
            throw new LedgerException(LedgerError.InvalidAmount,
                $"transfer '{request.Id}': amount {request.Amount} is not allowed; amounts are whole credits greater than 0.");
        ValidateId(request.DebitAccountId, $"transfer '{request.Id}': debit account");
        ValidateId(request.CreditAccountId, $"transfer '{request.Id}': credit account");
        if (request.DebitAccountId == request.CreditAccountId)
            throw new LedgerException(LedgerError.SameAccount,
                $"transfer '{request.Id}': debit and credit account are both '{request.DebitAccountId}'; a transfer must move credits between two accounts.");
    }

    /// <summary>Checks everything about a resolution that needs no stored state.</summary>
    public static void Validate(PendingResolution resolution)
    {
        ArgumentNullException.ThrowIfNull(resolution);
        ValidateId(resolution.Id, "resolution");
        ValidateCommon(resolution.Id, resolution.Memo, resolution.Cycle);
        ValidateId(resolution.PendingId, $"resolution '{resolution.Id}': pending transfer");
        if (resolution.Void && resolution.Amount is not null)
            throw new LedgerException(LedgerError.InvalidRequest,
                $"resolution '{resolution.Id}': a void posts nothing, so it takes no amount (got {resolution.Amount}).");
        if (resolution.Amount < 0)
            throw new LedgerException(LedgerError.InvalidAmount,
                $"resolution '{resolution.Id}': amount {resolution.Amount} is negative; post between 0 and the pending amount.");
    }

    /// <summary>Checks every item of a linked batch before anything is applied.</summary>
    public static void Validate(IReadOnlyList<LedgerOperation> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Validate(batch, 0, batch.Count);
    }

    /// <summary>Checks <paramref name="count"/> items of <paramref name="batch"/> from <paramref name="start"/>, one linked batch.</summary>
    public static void Validate(IReadOnlyList<LedgerOperation> batch, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        for (var i = 0; i < count; i++)
        {
            var operation = batch[start + i];
            try
            {
                switch (operation)
                {
                    case TransferRequest t: Validate(t); break;
                    case PendingResolution r: Validate(r); break;
                    default:
                        throw new LedgerException(LedgerError.InvalidRequest,
                            $"{operation?.GetType().Name ?? "null"} is not a ledger operation; use TransferRequest or PendingResolution.");
                }
            }
            catch (LedgerException ex)
            {
                throw InBatch(ex, i, count);
            }
        }
    }

    /// <summary>The error of batch item <paramref name="index"/> (0-based), saying that nothing was applied.</summary>
    public static LedgerException InBatch(LedgerException error, int index, int count) =>
        new(error.Error, $"batch item {index + 1} of {count} failed, nothing was applied: {error.Message}");

    // A table instead of Enum.IsDefined on the hot path (tens of millions of calls in a simulation).
    private static readonly bool[] DefinedKinds = BuildKindTable();

    private static bool[] BuildKindTable()
    {
        var kinds = Enum.GetValues<TransferKind>();
        var table = new bool[kinds.Max(k => (int)k) + 1];
        foreach (var k in kinds) if ((int)k >= 0) table[(int)k] = true;
        return table;
    }

    private static bool IsDefined(TransferKind kind) => (uint)kind < (uint)DefinedKinds.Length && DefinedKinds[(int)kind];

    private static void ValidateCommon(string id, string? memo, long? cycle)
    {
        if (memo is { Length: > MaxMemoLength })
            throw new LedgerException(LedgerError.InvalidRequest, $"'{id}': memo has {memo.Length} characters; at most {MaxMemoLength} are allowed.");
        if (cycle < 0)
            throw new LedgerException(LedgerError.InvalidRequest, $"'{id}': cycle {cycle} is negative.");
    }

    /// <summary>
    /// The idempotency rule: returns <paramref name="stored"/> (the first result) when it was created by an
    /// operation with the same fields as <paramref name="operation"/>, else throws <see cref="LedgerError.IdConflict"/>.
    /// A resolution that posts "in full" (no amount) matches one that named the full amount.
    /// </summary>
    public static Transfer Replay(Transfer stored, LedgerOperation operation)
    {
        if (!Matches(stored, operation))
            throw new LedgerException(LedgerError.IdConflict,
                $"id '{operation.Id}' was already used with other fields (first use: {Describe(stored)}); use a new id for a new operation.");
        return stored;
    }

    /// <summary>True when <paramref name="stored"/> is what <paramref name="operation"/> created (or would create).</summary>
    public static bool Matches(Transfer stored, LedgerOperation operation) => operation switch
    {
        TransferRequest r => stored.PendingId is null &&
                             stored.DebitAccountId == r.DebitAccountId && stored.CreditAccountId == r.CreditAccountId &&
                             stored.Amount == r.Amount && stored.Kind == r.Kind &&
                             stored.State == (r.Pending ? TransferState.Pending : TransferState.Posted) &&
                             stored.Cycle == r.Cycle && stored.Memo == r.Memo,
        PendingResolution p => stored.PendingId == p.PendingId &&
                               stored.State == (p.Void ? TransferState.PendingVoided : TransferState.PendingPosted) &&
                               (p.Void || stored.PostedAmount == (p.Amount ?? stored.Amount)) &&
                               stored.Cycle == p.Cycle && stored.Memo == p.Memo,
        _ => false,
    };

    /// <summary>a + b for credit balances; an overflow is a <see cref="LedgerError.InvalidAmount"/>, never a wrap.</summary>
    public static long Add(long balance, long amount, string operationId, string accountId)
    {
        try
        {
            return checked(balance + amount);
        }
        catch (OverflowException)
        {
            throw new LedgerException(LedgerError.InvalidAmount,
                $"'{operationId}': adding {amount} to account '{accountId}' ({balance}) would overflow the largest balance ({long.MaxValue}).");
        }
    }

    /// <summary>a - b for the treasury; an overflow is a <see cref="LedgerError.InvalidAmount"/>.</summary>
    public static long Subtract(long balance, long amount, string operationId, string accountId)
    {
        try
        {
            return checked(balance - amount);
        }
        catch (OverflowException)
        {
            throw new LedgerException(LedgerError.InvalidAmount,
                $"'{operationId}': taking {amount} from account '{accountId}' ({balance}) would overflow the smallest balance ({long.MinValue}).");
        }
    }

    /// <summary>The error for an absent account.</summary>
    public static LedgerException UnknownAccount(string accountId) =>
        new(LedgerError.UnknownAccount, $"account '{accountId}' does not exist; open it first.");

    /// <summary>The error for a debit that its available balance does not cover.</summary>
    public static LedgerException InsufficientFunds(string operationId, string accountId, long available, long amount) =>
        new(LedgerError.InsufficientFunds,
            $"'{operationId}': account '{accountId}' has {available} credits available, {amount} needed.");

    /// <summary>The error for a resolution of an absent or non-pending transfer.</summary>
    public static LedgerException PendingNotFound(string resolutionId, string pendingId) =>
        new(LedgerError.PendingNotFound, $"resolution '{resolutionId}': no pending transfer '{pendingId}' exists.");

    /// <summary>The error for a second resolution of one pending transfer.</summary>
    public static LedgerException AlreadyResolved(string resolutionId, Transfer resolution) =>
        AlreadyResolved(resolutionId, resolution.PendingId ?? "", resolution.Id, resolution.State, resolution.PostedAmount ?? 0);

    /// <summary>The error for a second resolution of one pending transfer.</summary>
    public static LedgerException AlreadyResolved(string resolutionId, string pendingId, string resolvedBy, TransferState state, long posted) =>
        new(LedgerError.PendingAlreadyResolved,
            $"resolution '{resolutionId}': pending transfer '{pendingId}' was already " +
            $"{(state == TransferState.PendingVoided ? "voided" : $"posted ({posted} credits)")} by '{resolvedBy}'.");

    /// <summary>The error for a post larger than the reservation.</summary>
    public static LedgerException PostExceedsPending(string resolutionId, string pendingId, long amount, long pending) =>
        new(LedgerError.PostExceedsPending,
            $"resolution '{resolutionId}': cannot post {amount} credits of pending transfer '{pendingId}', which holds only {pending}.");

    /// <summary>One line describing a stored transfer, for error messages.</summary>
    public static string Describe(Transfer t) => t.PendingId is null
        ? $"{t.State} {t.Kind} of {t.Amount} from '{t.DebitAccountId}' to '{t.CreditAccountId}'" +
          $"{(t.Cycle is { } c ? $" in cycle {c}" : "")}{(t.Memo is { } m ? $", memo '{Shorten(m)}'" : "")}"
        : $"{(t.State == TransferState.PendingVoided ? "void" : $"post of {t.PostedAmount}")} of pending '{t.PendingId}'" +
          $"{(t.Cycle is { } c2 ? $" in cycle {c2}" : "")}{(t.Memo is { } m2 ? $", memo '{Shorten(m2)}'" : "")}";

    /// <summary>
    /// The conservation report from every account's balances; <paramref name="transfersMatch"/> is the implementation's
    /// own replay of its log. Sums are taken in 128 bits so an overflowing ledger still reports (saturated) figures.
    /// </summary>
    internal static ConservationReport Conservation(
        IEnumerable<(string Id, AccountKind Kind, long Posted, long Reserved, long Incoming)> accounts, bool transfersMatch)
    {
        Int128 posted = 0, pendingOut = 0, pendingIn = 0;
        long treasury = 0;
        var negative = new List<string>();
        foreach (var a in accounts)
        {
            posted += a.Posted;
            pendingOut += a.Reserved;
            pendingIn += a.Incoming;
            if (a.Kind == AccountKind.Treasury) treasury = a.Posted;
            else if (a.Posted - a.Reserved < 0 || a.Reserved < 0 || a.Incoming < 0) negative.Add(a.Id);
        }
        negative.Sort(StringComparer.Ordinal);
        return new ConservationReport(long.CreateSaturating(posted), long.CreateSaturating(pendingOut), long.CreateSaturating(pendingIn),
            negative, treasury == long.MinValue ? long.MaxValue : -treasury, transfersMatch);
    }

    /// <summary>The view of a pending transfer once resolved: its state and posted amount come from the resolution.</summary>
    public static Transfer WithResolution(Transfer pending, Transfer? resolution) =>
        resolution is null ? pending : pending with { State = resolution.State, PostedAmount = resolution.PostedAmount };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
