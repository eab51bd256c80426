using CyAgents.Economy.Ledger;

namespace CyAgents.Economy.Tests.Ledger;

/// <summary>
/// A deliberately plain reference ledger (the oracle): whole-state copies for batches, 128-bit arithmetic
/// for overflow, no performance tricks. The random-walk test checks that every real ledger gives the same
/// result or error code as this model, step by step.
/// </summary>
internal sealed class LedgerModel
{
    public sealed record Account(AccountKind Kind, long Posted, long Reserved, long Incoming);

    private Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private Dictionary<string, Transfer> _transfers = new(StringComparer.Ordinal);
    private Dictionary<string, Transfer> _resolutionOf = new(StringComparer.Ordinal);
    private long _sequence;

    public LedgerModel()
    {
        _accounts[AccountIds.Treasury] = new(AccountKind.Treasury, 0, 0, 0);
        _accounts[AccountIds.Escrow] = new(AccountKind.Escrow, 0, 0, 0);
    }

    public long TransferCount => _sequence;

    public IReadOnlyList<AccountBalance> Balances() =>
        _accounts.OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => new AccountBalance(a.Key, a.Value.Posted, a.Value.Reserved, a.Value.Incoming)).ToList();

    public void Open(string id, AccountKind kind) => _accounts.TryAdd(id, new Account(kind, 0, 0, 0));

    /// <summary>Applies one operation or a batch; returns the results or the error, changing nothing on error.</summary>
    public (IReadOnlyList<Transfer>? Results, LedgerError? Error) Apply(IReadOnlyList<LedgerOperation> batch)
    {
        var copy = new LedgerModel
        {
            _accounts = new(_accounts, StringComparer.Ordinal),
            _transfers = new(_transfers, StringComparer.Ordinal),
            _resolutionOf = new(_resolutionOf, StringComparer.Ordinal),
            _sequence = _sequence,
        };
        var results = new List<Transfer>();
        foreach (var op in batch)
        {
            var (result, error) = copy.ApplyOne(op);
            if (error is not null) return (null, error);
            results.Add(result!);
        }
        (_accounts, _transfers, _resolutionOf, _sequence) = (copy._accounts, copy._transfers, copy._resolutionOf, copy._sequence);
        return (results, null);
    }

    private (Transfer?, LedgerError?) ApplyOne(LedgerOperation op)
    {
        try
        {
            if (op is TransferRequest t) LedgerRules.Validate(t);
            else LedgerRules.Validate((PendingResolution)op);
        }
        catch (LedgerException ex)
        {
            return (null, ex.Error);
        }
        if (_transfers.TryGetValue(op.Id, out var stored))
            return Same(stored, op) ? (stored, null) : (null, LedgerError.IdConflict);
        return op is TransferRequest r ? Move(r) : Resolve((PendingResolution)op);
    }

    private static bool Same(Transfer s, LedgerOperation op) => op switch
    {
        TransferRequest r => s.PendingId is null && (s.DebitAccountId, s.CreditAccountId, s.Amount, s.Kind, s.Cycle, s.Memo, s.State) ==
                             (r.DebitAccountId, r.CreditAccountId, r.Amount, r.Kind, r.Cycle, r.Memo, r.Pending ? TransferState.Pending : TransferState.Posted),
        PendingResolution p => s.PendingId == p.PendingId && s.Cycle == p.Cycle && s.Memo == p.Memo &&
                               (p.Void ? s.State == TransferState.PendingVoided
                                       : s.State == TransferState.PendingPosted && s.PostedAmount == (p.Amount ?? s.Amount)),
        _ => false,
    };

    private (Transfer?, LedgerError?) Move(TransferRequest r)
    {
        if (!_accounts.TryGetValue(r.DebitAccountId, out var d) || !_accounts.TryGetValue(r.CreditAccountId, out var c))
            return (null, LedgerError.UnknownAccount);
        if (d.Kind != AccountKind.Treasury && d.Posted - d.Reserved < r.Amount) return (null, LedgerError.InsufficientFunds);
        if (r.Pending)
        {
            if ((Int128)d.Reserved + r.Amount > long.MaxValue || (Int128)c.Posted + c.Incoming + r.Amount > long.MaxValue)
                return (null, LedgerError.InvalidAmount);
            _accounts[r.DebitAccountId] = d with { Reserved = d.Reserved + r.Amount };
            _accounts[r.CreditAccountId] = c with { Incoming = c.Incoming + r.Amount };
        }
        else
        {
            if ((Int128)d.Posted - r.Amount < long.MinValue || (Int128)c.Posted + r.Amount > long.MaxValue)
                return (null, LedgerError.InvalidAmount);
            _accounts[r.DebitAccountId] = d with { Posted = d.Posted - r.Amount };
            _accounts[r.CreditAccountId] = c with { Posted = c.Posted + r.Amount };
        }
        var t = new Transfer(r.Id, ++_sequence, r.DebitAccountId, r.CreditAccountId, r.Amount, r.Kind,
            r.Pending ? TransferState.Pending : TransferState.Posted, r.Cycle, r.Memo);
        _transfers[r.Id] = t;
        return (t, null);
    }

    private (Transfer?, LedgerError?) Resolve(PendingResolution r)
    {
        if (!_transfers.TryGetValue(r.PendingId, out var p) || p.State != TransferState.Pending || p.PendingId is not null)
            return (null, LedgerError.PendingNotFound);
        if (_resolutionOf.ContainsKey(p.Id)) return (null, LedgerError.PendingAlreadyResolved);
        var post = r.Void ? 0 : r.Amount ?? p.Amount;
        if (post > p.Amount) return (null, LedgerError.PostExceedsPending);
        var d = _accounts[p.DebitAccountId];
        var c = _accounts[p.CreditAccountId];
        if ((Int128)d.Posted - post < long.MinValue || (Int128)c.Posted + post > long.MaxValue) return (null, LedgerError.InvalidAmount);
        _accounts[p.DebitAccountId] = d with { Posted = d.Posted - post, Reserved = d.Reserved - p.Amount };
        c = _accounts[p.CreditAccountId];
        _accounts[p.CreditAccountId] = c with { Posted = c.Posted + post, Incoming = c.Incoming - p.Amount };
        var t = new Transfer(r.Id, ++_sequence, p.DebitAccountId, p.CreditAccountId, p.Amount, p.Kind,
            r.Void ? TransferState.PendingVoided : TransferState.PendingPosted, r.Cycle, r.Memo, p.Id, post);
        _transfers[r.Id] = t;
        _resolutionOf[p.Id] = t;
        return (t, null);
    }
}
