using System.Data;
using System.Data.Common;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace CyAgents.Persistence.Ledger;

/// <summary>
/// The persistent <see cref="ILedger"/> on <see cref="CyAgentsDbContext"/> (SQLite by default, PostgreSQL by
/// configuration; tables <c>ledger_accounts</c>, <c>ledger_transfers</c>, <c>ledger_sequence</c>).
/// <para>
/// Transactions: when the context already has a transaction (started with
/// <c>db.Database.BeginTransaction()</c>), every ledger operation JOINS it inside a savepoint and never commits
/// it, so a caller can store a bid and its escrow atomically; a failed operation rolls back to its savepoint and
/// leaves the caller's transaction usable. Without one, each operation runs in its own transaction and commits.
/// </para>
/// <para>
/// Concurrency: every write first increments the <c>ledger_sequence</c> row, which serializes ledger writers on
/// PostgreSQL (row lock) and on SQLite (transactions begin IMMEDIATE); debits are conditional updates
/// (<c>... WHERE posted - reserved &gt;= @amount</c>) whose row count is checked, so no account overdraws even
/// across processes. One instance per context, used by one caller at a time, like the context itself.
/// The hot path runs prepared ADO.NET commands on the context's connection (EF's per-call overhead would cap
/// throughput well below the target); the schema is EF's (see <see cref="DatabaseSetup"/>).
/// </para>
/// <para>
/// Events: every stored transfer (posted, pending hold, and the resolution of a hold) adds a <c>ledger.transfer</c> row to
/// the event stream's table in the same transaction, one per agent account it touches, scoped to that agent (ADR 0130).
/// Here and nowhere else, so no caller can move credits without the stream seeing it.
/// </para>
/// </summary>
public sealed class EfLedger : ILedger, IAsyncDisposable, IDisposable
{
    private const string TransferColumns = "id, sequence, debit_account_id, credit_account_id, amount, kind, state, cycle, memo, pending_id, posted_amount";
    private const string JoinedColumns =
        "t.id, t.sequence, t.debit_account_id, t.credit_account_id, t.amount, t.kind, t.state, t.cycle, t.memo, t.pending_id, t.posted_amount, " +
        "r.id, r.sequence, r.debit_account_id, r.credit_account_id, r.amount, r.kind, r.state, r.cycle, r.memo, r.pending_id, r.posted_amount";

    private readonly CyAgentsDbContext _db;
    private readonly bool _ownsContext;
    private readonly bool _postgres;
    private readonly DbCommand?[] _commands = new DbCommand?[(int)Sql.Count];
    private DbConnection? _connection;
    private DbTransaction? _transaction;
    // The sequence number taken at the start of the current write, not yet given to a stored transfer.
    private long? _unusedSequence;
    private bool _wrote;
    private bool _ownTransaction;
    private readonly TimeProvider _clock;

    /// <summary>A ledger on a caller's context; the caller keeps ownership of <paramref name="db"/>.</summary>
    public EfLedger(CyAgentsDbContext db) : this(db, ownsContext: false, TimeProvider.System) { }

    /// <summary>A ledger on a caller's context whose events are stamped by <paramref name="clock"/>.</summary>
    public EfLedger(CyAgentsDbContext db, TimeProvider clock) : this(db, ownsContext: false, clock) { }

    private EfLedger(CyAgentsDbContext db, bool ownsContext, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        _db = db;
        _ownsContext = ownsContext;
        _clock = clock;
        _postgres = db.Database.IsNpgsql();
    }

    /// <summary>A ledger with its own context on <paramref name="options"/> (disposed with the ledger).</summary>
    public static EfLedger Open(DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new EfLedger(new CyAgentsDbContext(options.BuildOptions()), ownsContext: true, TimeProvider.System);
    }

    /// <inheritdoc />
    public async ValueTask OpenAccountAsync(string accountId, AccountKind kind, CancellationToken ct = default)
    {
        LedgerRules.ValidateAccount(accountId, kind);
        await EnsureConnectionAsync(ct);
        _transaction = _db.Database.CurrentTransaction?.GetDbTransaction();
        try
        {
            // One statement: atomic on its own, and race-free between processes.
            var cmd = Command(Sql.InsertAccount, "INSERT INTO ledger_accounts (id, kind, posted, reserved, incoming) VALUES (@id, @kind, 0, 0, 0) " +
                                                 "ON CONFLICT (id) DO NOTHING", ("id", DbType.String), ("kind", DbType.Int32));
            cmd.Parameters[0].Value = accountId;
            cmd.Parameters[1].Value = (int)kind;
            if (await cmd.ExecuteNonQueryAsync(ct) == 1) return;
            var existing = await ReadAccountsAsync(accountId, accountId, ct);
            if (existing.First is { } a && a.Kind != kind)
                throw new LedgerException(LedgerError.AccountConflict, $"account '{accountId}' already exists as {a.Kind}, not {kind}.");
        }
        finally
        {
            _transaction = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<Transfer> TransferAsync(TransferRequest request, CancellationToken ct = default)
    {
        LedgerRules.Validate(request);
        await BeginWriteAsync(ct);
        try
        {
            var result = await ApplyTransferAsync(request, ct);
            await EndWriteAsync(ct);
            return result;
        }
        catch
        {
            await AbortWriteAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<Transfer> ResolveAsync(PendingResolution resolution, CancellationToken ct = default)
    {
        LedgerRules.Validate(resolution);
        await BeginWriteAsync(ct);
        try
        {
            var result = await ApplyResolutionAsync(resolution, ct);
            await EndWriteAsync(ct);
            return result;
        }
        catch
        {
            await AbortWriteAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<Transfer>> ApplyBatchAsync(IReadOnlyList<LedgerOperation> operations, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(operations);
        LedgerRules.Validate(operations);
        if (operations.Count == 0) return [];
        var results = new Transfer[operations.Count];
        await BeginWriteAsync(ct);
        var index = 0;
        try
        {
            for (; index < operations.Count; index++)
            {
                results[index] = operations[index] switch
                {
                    TransferRequest t => await ApplyTransferAsync(t, ct),
                    PendingResolution r => await ApplyResolutionAsync(r, ct),
                    _ => throw new InvalidOperationException("unreachable: validated above"),
                };
            }
            await EndWriteAsync(ct);
            return results;
        }
        catch (LedgerException ex)
        {
            await AbortWriteAsync();
            throw LedgerRules.InBatch(ex, index, operations.Count);
        }
        catch
        {
            await AbortWriteAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<AccountBalance> GetBalanceAsync(string accountId, CancellationToken ct = default)
    {
        if (accountId is null) throw LedgerRules.UnknownAccount("(null)");
        await EnsureConnectionAsync(ct);
        _transaction = _db.Database.CurrentTransaction?.GetDbTransaction();
        try
        {
            var (a, _) = await ReadAccountsAsync(accountId, accountId, ct);
            return a is null ? throw LedgerRules.UnknownAccount(accountId) : a.ToBalance();
        }
        finally
        {
            _transaction = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<AccountBalance>> GetBalancesAsync(CancellationToken ct = default)
    {
        await EnsureConnectionAsync(ct);
        _transaction = _db.Database.CurrentTransaction?.GetDbTransaction();
        try
        {
            var balances = await ReadAllAccountsAsync(ct);
            return balances.Select(a => a.ToBalance()).ToArray();
        }
        finally
        {
            _transaction = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<Transfer?> FindTransferAsync(string transferId, CancellationToken ct = default)
    {
        if (transferId is null) return null;
        await EnsureConnectionAsync(ct);
        _transaction = _db.Database.CurrentTransaction?.GetDbTransaction();
        try
        {
            var (t, r) = await ReadTransferAsync(transferId, ct);
            return t is null ? null : LedgerRules.WithResolution(t, r);
        }
        finally
        {
            _transaction = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<Transfer>> GetTransfersAsync(string accountId, int skip, int take, CancellationToken ct = default)
    {
        if (skip < 0 || take < 0)
            throw new LedgerException(LedgerError.InvalidRequest, $"skip ({skip}) and take ({take}) must not be negative.");
        if (accountId is null) throw LedgerRules.UnknownAccount("(null)");
        await EnsureConnectionAsync(ct);
        _transaction = _db.Database.CurrentTransaction?.GetDbTransaction();
        try
        {
            if ((await ReadAccountsAsync(accountId, accountId, ct)).First is null) throw LedgerRules.UnknownAccount(accountId);
            var cmd = Command(Sql.AccountTransfers,
                $"SELECT {JoinedColumns} FROM ledger_transfers t LEFT JOIN ledger_transfers r ON r.pending_id = t.id AND r.pending_id IS NOT NULL " +
                "WHERE t.debit_account_id = @a OR t.credit_account_id = @a ORDER BY t.sequence DESC LIMIT @take OFFSET @skip",
                ("a", DbType.String), ("take", DbType.Int32), ("skip", DbType.Int32));
            cmd.Parameters[0].Value = accountId;
            cmd.Parameters[1].Value = take;
            cmd.Parameters[2].Value = skip;
            var list = new List<Transfer>(Math.Min(take, 1_000));
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                list.Add(LedgerRules.WithResolution(ReadTransfer(reader, 0), reader.IsDBNull(11) ? null : ReadTransfer(reader, 11)));
            return list;
        }
        finally
        {
            _transaction = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<ConservationReport> CheckConservationAsync(CancellationToken ct = default)
    {
        await EnsureConnectionAsync(ct);
        var ambient = _db.Database.CurrentTransaction?.GetDbTransaction();
        // A consistent snapshot: balances and the log must be read at the same instant.
        var own = ambient is null
            ? _connection is SqliteConnection sqlite ? sqlite.BeginTransaction(deferred: true)
              : await _connection!.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct)
            : null;
        _transaction = ambient ?? own;
        try
        {
            var accounts = await ReadAllAccountsAsync(ct);
            var matches = await ReplayMatchesAsync(accounts, ct);
            return LedgerRules.Conservation(accounts.Select(a => (a.Id, a.Kind, a.Posted, a.Reserved, a.Incoming)), matches);
        }
        finally
        {
            _transaction = null;
            if (own is not null)
            {
                await own.RollbackAsync(CancellationToken.None);
                await own.DisposeAsync();
            }
        }
    }

    // Rebuilds every balance from the transfer rows alone (one aggregate query) and compares with the accounts.
    private async Task<bool> ReplayMatchesAsync(IReadOnlyList<AccountRow> accounts, CancellationToken ct)
    {
        const string Moved = "CASE WHEN pending_id IS NOT NULL THEN posted_amount WHEN state = 0 THEN amount ELSE 0 END";
        const string Held = "CASE WHEN pending_id IS NOT NULL THEN -amount WHEN state = 1 THEN amount ELSE 0 END";
        var cmd = Command(Sql.Replay,
            "SELECT account_id, SUM(p), SUM(r), SUM(i) FROM (" +
            $"SELECT debit_account_id AS account_id, -({Moved}) AS p, {Held} AS r, 0 AS i FROM ledger_transfers " +
            $"UNION ALL SELECT credit_account_id, {Moved}, 0, {Held} FROM ledger_transfers) x GROUP BY account_id");
        var sums = new Dictionary<string, (Int128 Posted, Int128 Reserved, Int128 Incoming)>(StringComparer.Ordinal);
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                sums[reader.GetString(0)] = (ToInt128(reader.GetValue(1)), ToInt128(reader.GetValue(2)), ToInt128(reader.GetValue(3)));
        }
        catch (SqliteException ex) when (ex.Message.Contains("integer overflow", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var known = accounts.ToDictionary(a => a.Id, StringComparer.Ordinal);
        if (sums.Keys.Any(id => !known.ContainsKey(id))) return false;
        foreach (var a in accounts)
        {
            var s = sums.GetValueOrDefault(a.Id);
            if (s.Posted != a.Posted || s.Reserved != a.Reserved || s.Incoming != a.Incoming) return false;
        }
        return true;
    }

    private static Int128 ToInt128(object value) => value switch
    {
        DBNull => 0,
        long l => l,
        int i => i,
        decimal d => (Int128)d,
        _ => (Int128)Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture),
    };

    // ---- writes; callers are between BeginWriteAsync and EndWriteAsync/AbortWriteAsync ----

    private async ValueTask<Transfer> ApplyTransferAsync(TransferRequest r, CancellationToken ct)
    {
        var (existing, _) = await ReadTransferAsync(r.Id, ct);
        if (existing is not null) return LedgerRules.Replay(existing, r);
        var (x, y) = await ReadAccountsAsync(r.DebitAccountId, r.CreditAccountId, ct);
        var debit = x?.Id == r.DebitAccountId ? x : y?.Id == r.DebitAccountId ? y : null;
        var credit = x?.Id == r.CreditAccountId ? x : y?.Id == r.CreditAccountId ? y : null;
        if (debit is null) throw LedgerRules.UnknownAccount(r.DebitAccountId);
        if (credit is null) throw LedgerRules.UnknownAccount(r.CreditAccountId);
        var amount = r.Amount;
        if (debit.Kind != AccountKind.Treasury && debit.Posted - debit.Reserved < amount)
            throw LedgerRules.InsufficientFunds(r.Id, debit.Id, debit.Posted - debit.Reserved, amount);
        if (r.Pending)
        {
            LedgerRules.Add(debit.Reserved, amount, r.Id, debit.Id);
            var incoming = LedgerRules.Add(credit.Incoming, amount, r.Id, credit.Id);
            LedgerRules.Add(credit.Posted, incoming, r.Id, credit.Id);
        }
        else
        {
            LedgerRules.Subtract(debit.Posted, amount, r.Id, debit.Id);
            LedgerRules.Add(credit.Posted, amount, r.Id, credit.Id);
        }

        // The guard in SQL, not only the check above: it holds even if another writer got in between.
        const string Covered = "(CASE WHEN kind = 0 THEN @amount ELSE posted - reserved END) >= @amount";
        var debitCmd = r.Pending
            ? Command(Sql.ReserveDebit, $"UPDATE ledger_accounts SET reserved = reserved + @amount WHERE id = @id AND {Covered}", ("amount", DbType.Int64), ("id", DbType.String))
            : Command(Sql.PostDebit, $"UPDATE ledger_accounts SET posted = posted - @amount WHERE id = @id AND {Covered}", ("amount", DbType.Int64), ("id", DbType.String));
        debitCmd.Parameters[0].Value = amount;
        debitCmd.Parameters[1].Value = debit.Id;
        if (await debitCmd.ExecuteNonQueryAsync(ct) != 1)
        {
            var (now, _) = await ReadAccountsAsync(debit.Id, debit.Id, ct);
            throw LedgerRules.InsufficientFunds(r.Id, debit.Id, now is null ? 0 : now.Posted - now.Reserved, amount);
        }
        var creditCmd = r.Pending
            ? Command(Sql.ReserveCredit, "UPDATE ledger_accounts SET incoming = incoming + @amount WHERE id = @id", ("amount", DbType.Int64), ("id", DbType.String))
            : Command(Sql.PostCredit, "UPDATE ledger_accounts SET posted = posted + @amount WHERE id = @id", ("amount", DbType.Int64), ("id", DbType.String));
        creditCmd.Parameters[0].Value = amount;
        creditCmd.Parameters[1].Value = credit.Id;
        ExpectOneRow(await creditCmd.ExecuteNonQueryAsync(ct), credit.Id);

        var transfer = new Transfer(r.Id, await TakeSequenceAsync(ct), r.DebitAccountId, r.CreditAccountId, amount, r.Kind,
            r.Pending ? TransferState.Pending : TransferState.Posted, r.Cycle, r.Memo);
        await InsertAsync(transfer, ct);
        await AddEventsAsync(transfer,
            r.Pending ? debit with { Reserved = debit.Reserved + amount } : debit with { Posted = debit.Posted - amount },
            r.Pending ? credit with { Incoming = credit.Incoming + amount } : credit with { Posted = credit.Posted + amount }, ct);
        return transfer;
    }

    private async ValueTask<Transfer> ApplyResolutionAsync(PendingResolution r, CancellationToken ct)
    {
        var (existing, _) = await ReadTransferAsync(r.Id, ct);
        if (existing is not null) return LedgerRules.Replay(existing, r);
        var (pending, done) = await ReadTransferAsync(r.PendingId, ct);
        if (pending is null || pending.State != TransferState.Pending || pending.PendingId is not null)
            throw LedgerRules.PendingNotFound(r.Id, r.PendingId);
        if (done is not null) throw LedgerRules.AlreadyResolved(r.Id, done);
        var post = r.Void ? 0 : r.Amount ?? pending.Amount;
        if (post > pending.Amount) throw LedgerRules.PostExceedsPending(r.Id, pending.Id, post, pending.Amount);
        var (x, y) = await ReadAccountsAsync(pending.DebitAccountId, pending.CreditAccountId, ct);
        var debit = x?.Id == pending.DebitAccountId ? x : y;
        var credit = x?.Id == pending.CreditAccountId ? x : y;
        if (debit is null || credit is null || debit.Id != pending.DebitAccountId || credit.Id != pending.CreditAccountId)
            throw new InvalidOperationException($"ledger store is inconsistent: accounts of pending transfer '{pending.Id}' are missing.");
        if (debit.Kind == AccountKind.Treasury) LedgerRules.Subtract(debit.Posted, post, r.Id, debit.Id);
        LedgerRules.Add(credit.Posted, post, r.Id, credit.Id);

        var debitCmd = Command(Sql.ResolveDebit,
            "UPDATE ledger_accounts SET posted = posted - @post, reserved = reserved - @amount WHERE id = @id AND reserved >= @amount",
            ("post", DbType.Int64), ("amount", DbType.Int64), ("id", DbType.String));
        debitCmd.Parameters[0].Value = post;
        debitCmd.Parameters[1].Value = pending.Amount;
        debitCmd.Parameters[2].Value = debit.Id;
        ExpectOneRow(await debitCmd.ExecuteNonQueryAsync(ct), debit.Id);
        var creditCmd = Command(Sql.ResolveCredit,
            "UPDATE ledger_accounts SET posted = posted + @post, incoming = incoming - @amount WHERE id = @id AND incoming >= @amount",
            ("post", DbType.Int64), ("amount", DbType.Int64), ("id", DbType.String));
        creditCmd.Parameters[0].Value = post;
        creditCmd.Parameters[1].Value = pending.Amount;
        creditCmd.Parameters[2].Value = credit.Id;
        ExpectOneRow(await creditCmd.ExecuteNonQueryAsync(ct), credit.Id);

        var transfer = new Transfer(r.Id, await TakeSequenceAsync(ct), pending.DebitAccountId, pending.CreditAccountId, pending.Amount, pending.Kind,
            r.Void ? TransferState.PendingVoided : TransferState.PendingPosted, r.Cycle, r.Memo, pending.Id, post);
        await InsertAsync(transfer, ct);
        await AddEventsAsync(transfer,
            debit with { Posted = debit.Posted - post, Reserved = debit.Reserved - pending.Amount },
            credit with { Posted = credit.Posted + post, Incoming = credit.Incoming - pending.Amount }, ct);
        return transfer;
    }

    private static void ExpectOneRow(int rows, string accountId)
    {
        if (rows != 1) throw new InvalidOperationException($"ledger store is inconsistent: account '{accountId}' could not be updated.");
    }

    private async Task InsertAsync(Transfer t, CancellationToken ct)
    {
        var cmd = Command(Sql.InsertTransfer,
            $"INSERT INTO ledger_transfers ({TransferColumns}) VALUES (@id, @sequence, @debit, @credit, @amount, @kind, @state, @cycle, @memo, @pending, @posted)",
            ("id", DbType.String), ("sequence", DbType.Int64), ("debit", DbType.String), ("credit", DbType.String), ("amount", DbType.Int64),
            ("kind", DbType.Int32), ("state", DbType.Int32), ("cycle", DbType.Int64), ("memo", DbType.String), ("pending", DbType.String),
            ("posted", DbType.Int64));
        var p = cmd.Parameters;
        p[0].Value = t.Id;
        p[1].Value = t.Sequence;
        p[2].Value = t.DebitAccountId;
        p[3].Value = t.CreditAccountId;
        p[4].Value = t.Amount;
        p[5].Value = (int)t.Kind;
        p[6].Value = (int)t.State;
        p[7].Value = t.Cycle is { } c ? c : DBNull.Value;
        p[8].Value = (object?)t.Memo ?? DBNull.Value;
        p[9].Value = (object?)t.PendingId ?? DBNull.Value;
        p[10].Value = t.PostedAmount is { } pa ? pa : DBNull.Value;
        await cmd.ExecuteNonQueryAsync(ct);
        _wrote = true;
    }

    // ---- events (ADR 0130) ----

    private static readonly string[] KindNames = Enum.GetNames<TransferKind>().Select(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName).ToArray();
    private static readonly string[] StateNames = Enum.GetNames<TransferState>().Select(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName).ToArray();
    private readonly System.Buffers.ArrayBufferWriter<byte> _json = new(512);

    // One event per agent side (an agent-to-agent transfer is in both agents' streams, with the side and the balance after);
    // a transfer between host accounts only (escrow to treasury) is one market-wide event, which only the operator sees.
    private async Task AddEventsAsync(Transfer t, AccountRow debitAfter, AccountRow creditAfter, CancellationToken ct)
    {
        var debitAgent = AgentOf(t.DebitAccountId);
        var creditAgent = AgentOf(t.CreditAccountId);
        var at = _clock.GetUtcNow();
        if (debitAgent is not null) await InsertEventAsync(t, debitAgent, "debit", debitAfter, at, ct);
        if (creditAgent is not null) await InsertEventAsync(t, creditAgent, "credit", creditAfter, at, ct);
        if (debitAgent is null && creditAgent is null) await InsertEventAsync(t, null, null, null, at, ct);
    }

    private static string? AgentOf(string accountId)
    {
        const string Prefix = "agent:";
        return accountId.StartsWith(Prefix, StringComparison.Ordinal) ? accountId[Prefix.Length..] : null;
    }

    private async Task InsertEventAsync(Transfer t, string? agentId, string? side, AccountRow? after, DateTimeOffset at, CancellationToken ct)
    {
        _json.ResetWrittenCount();
        using (var w = new System.Text.Json.Utf8JsonWriter(_json))
        {
            w.WriteStartObject();
            w.WriteString("transferId", t.Id);
            w.WriteString("kind", (int)t.Kind < KindNames.Length ? KindNames[(int)t.Kind] : t.Kind.ToString());
            w.WriteString("state", StateNames[(int)t.State]);
            w.WriteString("debit", t.DebitAccountId);
            w.WriteString("credit", t.CreditAccountId);
            w.WriteNumber("amount", t.Amount);
            if (t.PendingId is not null)
            {
                w.WriteString("pendingId", t.PendingId);
                w.WriteNumber("postedAmount", t.PostedAmount ?? 0);
            }
            if (t.Cycle is { } cycle) w.WriteNumber("cycle", cycle);
            else w.WriteNull("cycle");
            if (t.Memo is not null) w.WriteString("memo", t.Memo);
            else w.WriteNull("memo");
            w.WriteNumber("sequence", t.Sequence);
            if (side is not null && after is not null)
            {
                w.WriteString("side", side);
                w.WriteStartObject("balance");
                w.WriteNumber("posted", after.Posted);
                w.WriteNumber("reserved", after.Reserved);
                w.WriteNumber("incoming", after.Incoming);
                w.WriteNumber("available", after.Posted - after.Reserved);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var cmd = Command(Sql.InsertEvent,
            "INSERT INTO \"events\" (\"Type\", \"AgentId\", \"Cycle\", \"At\", \"Data\") VALUES (@type, @agent, @cycle, @at, @data)",
            ("type", DbType.String), ("agent", DbType.String), ("cycle", DbType.Int64),
            ("at", _postgres ? DbType.DateTimeOffset : DbType.String), ("data", DbType.String));
        var p = cmd.Parameters;
        p[0].Value = EventTypes.LedgerTransfer;
        p[1].Value = (object?)agentId ?? DBNull.Value;
        p[2].Value = t.Cycle is { } c ? c : DBNull.Value;
        // SQLite: the text form EF's DateTimeOffset converter writes and reads.
        p[3].Value = _postgres ? at : at.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFFzzz", System.Globalization.CultureInfo.InvariantCulture);
        p[4].Value = System.Text.Encoding.UTF8.GetString(_json.WrittenSpan);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    // ---- transaction frame ----

    private async Task BeginWriteAsync(CancellationToken ct)
    {
        await EnsureConnectionAsync(ct);
        var ambient = _db.Database.CurrentTransaction;
        if (ambient is not null)
        {
            // Join the caller's transaction; a savepoint lets this operation fail alone.
            await ambient.CreateSavepointAsync("ledger_op", ct);
            _transaction = ambient.GetDbTransaction();
            _ownTransaction = false;
        }
        else
        {
            // IMMEDIATE on SQLite: take the write lock now, so writers queue instead of failing on upgrade.
            _transaction = _connection is SqliteConnection sqlite
                ? sqlite.BeginTransaction(deferred: false)
                : await _connection!.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
            _ownTransaction = true;
        }
        _wrote = false;
        try
        {
            // Taking the next sequence number first serializes writers before anything is read.
            _unusedSequence = await NextSequenceAsync(ct);
        }
        catch
        {
            await AbortWriteAsync();
            throw;
        }
    }

    private async ValueTask<long> TakeSequenceAsync(CancellationToken ct)
    {
        if (_unusedSequence is { } s)
        {
            _unusedSequence = null;
            return s;
        }
        return await NextSequenceAsync(ct);
    }

    private async Task<long> NextSequenceAsync(CancellationToken ct)
    {
        var cmd = Command(Sql.NextSequence, "UPDATE ledger_sequence SET value = value + 1 WHERE id = 1 RETURNING value");
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task EndWriteAsync(CancellationToken ct)
    {
        // A pure replay stored nothing: undo the sequence increment too, so the order stays gapless.
        if (!_wrote)
        {
            await AbortWriteAsync();
            return;
        }
        var tx = _transaction!;
        _transaction = null;
        _unusedSequence = null;
        if (_ownTransaction)
        {
            await tx.CommitAsync(ct);
            await tx.DisposeAsync();
        }
        else
        {
            await _db.Database.CurrentTransaction!.ReleaseSavepointAsync("ledger_op", ct);
        }
    }

    private async Task AbortWriteAsync()
    {
        var tx = _transaction;
        _transaction = null;
        _unusedSequence = null;
        if (tx is null) return;
        if (_ownTransaction)
        {
            await tx.RollbackAsync(CancellationToken.None);
            await tx.DisposeAsync();
        }
        else if (_db.Database.CurrentTransaction is { } ambient)
        {
            await ambient.RollbackToSavepointAsync("ledger_op", CancellationToken.None);
            await ambient.ReleaseSavepointAsync("ledger_op", CancellationToken.None);
        }
    }

    // ---- reads ----

    private async Task<(Transfer? Transfer, Transfer? Resolution)> ReadTransferAsync(string id, CancellationToken ct)
    {
        var cmd = Command(Sql.FindTransfer,
            $"SELECT {JoinedColumns} FROM ledger_transfers t LEFT JOIN ledger_transfers r ON r.pending_id = t.id AND r.pending_id IS NOT NULL WHERE t.id = @id",
            ("id", DbType.String));
        cmd.Parameters[0].Value = id;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return (null, null);
        return (ReadTransfer(reader, 0), reader.IsDBNull(11) ? null : ReadTransfer(reader, 11));
    }

    private static Transfer ReadTransfer(DbDataReader r, int o) => new(
        r.GetString(o), r.GetInt64(o + 1), r.GetString(o + 2), r.GetString(o + 3), r.GetInt64(o + 4),
        (TransferKind)r.GetInt32(o + 5), (TransferState)r.GetInt32(o + 6),
        r.IsDBNull(o + 7) ? null : r.GetInt64(o + 7),
        r.IsDBNull(o + 8) ? null : r.GetString(o + 8),
        r.IsDBNull(o + 9) ? null : r.GetString(o + 9),
        r.IsDBNull(o + 10) ? null : r.GetInt64(o + 10));

    private async Task<(AccountRow? First, AccountRow? Second)> ReadAccountsAsync(string a, string b, CancellationToken ct)
    {
        var cmd = Command(Sql.FindAccounts, "SELECT id, kind, posted, reserved, incoming FROM ledger_accounts WHERE id = @a OR id = @b",
            ("a", DbType.String), ("b", DbType.String));
        cmd.Parameters[0].Value = a;
        cmd.Parameters[1].Value = b;
        AccountRow? first = null, second = null;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var row = ReadAccount(reader);
            if (first is null) first = row;
            else second = row;
        }
        return (first, second);
    }

    private async Task<List<AccountRow>> ReadAllAccountsAsync(CancellationToken ct)
    {
        var cmd = Command(Sql.AllAccounts, "SELECT id, kind, posted, reserved, incoming FROM ledger_accounts");
        var list = new List<AccountRow>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) list.Add(ReadAccount(reader));
        }
        // Ordinal order in C#: PostgreSQL's collation would sort ids differently from SQLite.
        list.Sort(static (x, y) => string.CompareOrdinal(x.Id, y.Id));
        return list;
    }

    private static AccountRow ReadAccount(DbDataReader r) =>
        new(r.GetString(0), (AccountKind)r.GetInt32(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4));

    private sealed record AccountRow(string Id, AccountKind Kind, long Posted, long Reserved, long Incoming)
    {
        public AccountBalance ToBalance() => new(Id, Posted, Reserved, Incoming);
    }

    // ---- prepared commands ----

    private enum Sql
    {
        InsertAccount, FindAccounts, AllAccounts, FindTransfer, AccountTransfers, NextSequence,
        PostDebit, PostCredit, ReserveDebit, ReserveCredit, ResolveDebit, ResolveCredit, InsertTransfer, InsertEvent, Replay, Count,
    }

    private async Task EnsureConnectionAsync(CancellationToken ct)
    {
        if (_connection is { State: ConnectionState.Open }) return;
        // Held open for the ledger's lifetime: the prepared commands live on this connection.
        await _db.Database.OpenConnectionAsync(ct);
        _connection = _db.Database.GetDbConnection();
    }

    private DbCommand Command(Sql key, string text, params ReadOnlySpan<(string Name, DbType Type)> parameters)
    {
        var cmd = _commands[(int)key];
        if (cmd is null || cmd.Connection != _connection)
        {
            cmd?.Dispose();
            cmd = _connection!.CreateCommand();
            cmd.CommandText = text;
            foreach (var (name, type) in parameters)
            {
                var p = cmd.CreateParameter();
                p.ParameterName = "@" + name;
                p.DbType = type;
                p.Value = DBNull.Value;
                cmd.Parameters.Add(p);
            }
            cmd.Transaction = _transaction;
            if (!_postgres) cmd.Prepare();
            _commands[(int)key] = cmd;
        }
        cmd.Transaction = _transaction;
        return cmd;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var cmd in _commands) cmd?.Dispose();
        Array.Clear(_commands);
        if (_ownsContext) _db.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var cmd in _commands)
            if (cmd is not null) await cmd.DisposeAsync();
        Array.Clear(_commands);
        if (_ownsContext) await _db.DisposeAsync();
    }
}
