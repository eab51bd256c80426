using System.Data.Common;
using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Cycles;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CyAgents.Orchestrator.Tests.Faults;

/// <summary>
/// Stands for <c>kill -9</c> inside one process: armed at a named point (its k-th occurrence) or at the N-th write, it
/// throws <see cref="SimulatedCrash"/> there and from then on fails every database command, commit and ledger call, so
/// nothing the "dead" process still runs reaches the file. Uncommitted transactions roll back as SQLite's would on a kill.
/// <see cref="Revive"/> is the restart.
/// </summary>
public sealed class FaultInjector : IFaultPoints
{
    private readonly object _gate = new();
    private string? _point;
    private int _occurrence;
    private int _writeNumber;
    private int _writes;

    public bool Dead { get; private set; }
    /// <summary>Where the last crash fired (a point name, or <c>write:&lt;what&gt;</c>).</summary>
    public string? FiredAt { get; private set; }

    public void ArmAtPoint(string point, int occurrence) { lock (_gate) (_point, _occurrence, _writeNumber) = (point, occurrence, 0); }
    public void ArmAtWrite(int n) { lock (_gate) (_point, _writeNumber, _writes) = (null, n, 0); }
    public void Disarm() { lock (_gate) (_point, _writeNumber) = (null, 0); }

    public void Revive()
    {
        lock (_gate) (Dead, _point, _writeNumber, FiredAt) = (false, null, 0, null);
    }

    void IFaultPoints.Reached(FaultPoint point) => Point(point switch
    {
        FaultPoint.BeforeFreeze => "before-freeze",
        FaultPoint.AfterFreeze => "after-freeze",
        FaultPoint.MidSettlement => "mid-settlement",
        FaultPoint.AfterSettlement => "after-settlement",
        FaultPoint.AfterCollect => "after-collect",
        FaultPoint.BeforeComplete => "before-complete",
        _ => point.ToString(),
    });

    public void Point(string name)
    {
        lock (_gate)
        {
            ThrowIfDead();
            if (_point == name && --_occurrence <= 0) Crash(name);
        }
    }

    public void Write(string what)
    {
        lock (_gate)
        {
            ThrowIfDead();
            if (_writeNumber > 0 && ++_writes == _writeNumber) Crash($"write:{what}");
        }
    }

    public void Read()
    {
        lock (_gate) ThrowIfDead();
    }

    private void Crash(string where)
    {
        Dead = true;
        FiredAt = where;
        throw new SimulatedCrash(where);
    }

    private void ThrowIfDead()
    {
        if (Dead) throw new SimulatedCrash("(after the crash: the process is gone)");
    }

    /// <summary>The EF side: every command and every commit of a context goes through the injector.</summary>
    public IInterceptor[] Interceptors => [new Commands(this), new Commits(this)];

    private sealed class Commands(FaultInjector injector) : DbCommandInterceptor
    {
        private void Check(DbCommand command)
        {
            var text = command.CommandText.TrimStart();
            if (text.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) || text.StartsWith("PRAGMA", StringComparison.OrdinalIgnoreCase))
                injector.Read();
            else
                injector.Write(text.Split(' ', 4) is { Length: >= 3 } words ? $"{words[0]} {words[2]}" : text);
        }

        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        { Check(command); return result; }
        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken ct = default)
        { Check(command); return ValueTask.FromResult(result); }
        public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
        { Check(command); return result; }
        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken ct = default)
        { Check(command); return ValueTask.FromResult(result); }
        public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
        { Check(command); return result; }
        public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<object> result, CancellationToken ct = default)
        { Check(command); return ValueTask.FromResult(result); }
    }

    private sealed class Commits(FaultInjector injector) : DbTransactionInterceptor
    {
        public override InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
        { injector.Write("commit"); return result; }
        public override ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData,
            InterceptionResult result, CancellationToken ct = default)
        { injector.Write("commit"); return ValueTask.FromResult(result); }
    }
}

/// <summary>The ledger side: the EF ledger runs its own ADO.NET commands, so its writes are counted (and crashed) here.</summary>
public sealed class FaultingLedger(ILedger inner, FaultInjector injector) : ILedger
{
    public ValueTask<Transfer> TransferAsync(TransferRequest request, CancellationToken ct = default)
    {
        injector.Write($"ledger:{request.Kind}");
        return inner.TransferAsync(request, ct);
    }

    public ValueTask OpenAccountAsync(string accountId, AccountKind kind, CancellationToken ct = default)
    {
        injector.Write("ledger:open-account");
        return inner.OpenAccountAsync(accountId, kind, ct);
    }

    public ValueTask<Transfer> ResolveAsync(PendingResolution resolution, CancellationToken ct = default)
    {
        injector.Write("ledger:resolve");
        return inner.ResolveAsync(resolution, ct);
    }

    public ValueTask<IReadOnlyList<Transfer>> ApplyBatchAsync(IReadOnlyList<LedgerOperation> operations, CancellationToken ct = default)
    {
        injector.Write("ledger:settlement-batch");
        return inner.ApplyBatchAsync(operations, ct);
    }

    public ValueTask<AccountBalance> GetBalanceAsync(string accountId, CancellationToken ct = default) { injector.Read(); return inner.GetBalanceAsync(accountId, ct); }
    public ValueTask<IReadOnlyList<AccountBalance>> GetBalancesAsync(CancellationToken ct = default) { injector.Read(); return inner.GetBalancesAsync(ct); }
    public ValueTask<Transfer?> FindTransferAsync(string transferId, CancellationToken ct = default) { injector.Read(); return inner.FindTransferAsync(transferId, ct); }
    public ValueTask<IReadOnlyList<Transfer>> GetTransfersAsync(string accountId, int skip, int take, CancellationToken ct = default)
    { injector.Read(); return inner.GetTransfersAsync(accountId, skip, take, ct); }
    public ValueTask<ConservationReport> CheckConservationAsync(CancellationToken ct = default) { injector.Read(); return inner.CheckConservationAsync(ct); }
}
