using System.Diagnostics;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Cycles;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Market;
using CyAgents.Persistence;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Endpoints;
using CyAgents.SystemApi.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Cycles;

/// <summary>What one cycle did.</summary>
public sealed record CycleReport(long Number, int Bids, IReadOnlyList<Allocation> Winners, IReadOnlyList<ExecutionRecord> Executions,
    ConservationReport Conservation, TimeSpan Elapsed);

/// <summary>The conservation check failed: the cycle stops the program rather than run on a broken ledger.</summary>
public sealed class LedgerInvariantBrokenException(long cycle, ConservationReport report)
    : Exception($"Cycle {cycle}: the ledger invariant does not hold ({report}); stopping.")
{
    public ConservationReport Report { get; } = report;
}

/// <summary>
/// One allocation cycle, in order: freeze open bids, clear them with the configured mechanism, settle (winners'
/// escrow posted at their payment, the rest returned; losers' voided) together with bid, execution and market
/// records in one transaction, launch every winner concurrently, collect, check conservation, close the cycle record.
/// The stage reached is kept in <see cref="CycleRecord.Status"/> so a restart can repair an interrupted cycle.
/// </summary>
public sealed class AllocationCycle(
    IDbContextFactory<CyAgentsDbContext> databases,
    Func<CyAgentsDbContext, ILedger> ledgerFor,
    ISandbox sandbox,
    IExecutionTokens tokens,
    AgentWorkspaces workspaces,
    LiveOptions options,
    ResourceBundle supply,
    string containerApiSocket,
    ILogger<AllocationCycle> logger,
    TimeProvider? clock = null,
    IFaultPoints? faults = null,
    AgentPrograms? programs = null,
    SystemMetrics? metrics = null,
    ExecutionHistory? history = null,
    IClearingMechanism? mechanism = null,
    UidRange? uids = null,
    IReadOnlyList<ICycleStep>? steps = null)
{
    private readonly IReadOnlyList<ICycleStep> _steps = steps ?? [];
    private readonly AgentUids _uids = new(databases, uids ?? new UidRange(), clock);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly IFaultPoints _faults = faults ?? FaultPoints.None;
    // Given in code only by tests that need a clearing no configured mechanism gives (several wins of one agent).
    private readonly IClearingMechanism _mechanism = mechanism ?? ClearingMechanisms.Create(options.Mechanism);

    /// <summary>The supply offered each cycle.</summary>
    public ResourceBundle Supply => supply;

    /// <summary>
    /// First start: the treasury and escrow accounts and the Genesis agent with its endowment, in one transaction;
    /// does nothing when the database has any agent. Its first bid is an entry bid placed when cycle 1 starts.
    /// </summary>
    public async Task BootstrapAsync(CancellationToken ct)
    {
        var genesis = options.Genesis;
        await using var db = await databases.CreateDbContextAsync(ct);
        // Any agent at all (Genesis, or one an operator created with `agents create` before the first run): no Genesis.
        if (await db.Set<AgentRecord>().AnyAsync(ct)) return;
        // Fixed at creation (ADR 0100): the template's agent.json, or none (the Genesis default) for a template without one.
        var manifest = File.Exists(Path.Combine(workspaces.Template, AgentManifestReader.FileName))
            ? AgentManifestReader.Write(AgentManifestReader.ReadFolder(workspaces.Template))
            : null;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var ledger = ledgerFor(db);
        await ledger.OpenAccountAsync(AccountIds.Treasury, AccountKind.Treasury, ct);
        await ledger.OpenAccountAsync(AccountIds.Escrow, AccountKind.Escrow, ct);
        var account = AccountIds.ForAgent(genesis.AgentId);
        await ledger.OpenAccountAsync(account, AccountKind.Agent, ct);
        await ledger.TransferAsync(new TransferRequest($"{genesis.AgentId}:endowment", AccountIds.Treasury, account, genesis.Endowment,
            TransferKind.Endowment, Memo: "Genesis endowment"), ct);
        db.Add(new AgentRecord
        {
            Id = genesis.AgentId, Name = "Genesis", RootId = genesis.AgentId, Generation = 0, CreatedCycle = 0, CreatedAt = _clock.GetUtcNow(),
            ManifestJson = manifest,
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        using (Scope(0))
            logger.LogInformation("Created agent {AgentId} with {Endowment} credits", genesis.AgentId, genesis.Endowment);
    }

    /// <summary>The number the next cycle gets.</summary>
    public async Task<long> NextNumberAsync(CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        return (await db.Set<CycleRecord>().MaxAsync(c => (long?)c.Number, ct) ?? 0) + 1;
    }

    /// <summary>Runs cycle <paramref name="number"/> to its end. <paramref name="ct"/> stops running containers; bookkeeping still completes.</summary>
    public async Task<CycleReport> RunAsync(long number, CancellationToken ct)
    {
        using var scope = Scope(number);
        var stopwatch = Stopwatch.StartNew();
        // Not cancellable, like clearing: a step's bookkeeping (deadlines, expiries) completes once begun.
        foreach (var step in _steps) await step.BeforeClearingAsync(number, CancellationToken.None);
        var (bidCount, result, executions, nextPrices) = await ClearAndSettleAsync(number);
        // The cycle's figures in one line, utilization included, so a run is judged from system.log alone (ADR 0141).
        logger.LogInformation("Cycle {Cycle} cleared by {Mechanism}: {Bids} bids, {Winners} winners, welfare {Welfare}, revenue {Revenue}, " +
                              "CPU utilization {CpuUtilization}, memory utilization {MemoryUtilization}",
            number, result.Mechanism, bidCount, result.Winners.Count, result.Welfare, result.Revenue,
            Math.Round(result.Utilization(ResourceKind.Cpu), 4), Math.Round(result.Utilization(ResourceKind.Memory), 4));

        foreach (var step in _steps) await step.AfterSettlementAsync(number, executions, CancellationToken.None);
        await SetStatusAsync(number, CycleStatus.Running);
        var finished = await Task.WhenAll(executions.Select(e => ExecuteAsync(e, nextPrices, ct)));
        _faults.Reached(FaultPoint.AfterCollect);
        await RepairHostFaultsAsync(finished.Where(e => e.Status.IsHostFault()).Select(e => e.Id));
        foreach (var step in _steps) await step.AfterExecutionsAsync(number, CancellationToken.None);
        _faults.Reached(FaultPoint.BeforeComplete);

        ConservationReport conservation;
        await using (var db = await databases.CreateDbContextAsync(CancellationToken.None))
        {
            conservation = await ledgerFor(db).CheckConservationAsync(CancellationToken.None);
            var cycle = await db.Set<CycleRecord>().SingleAsync(c => c.Number == number);
            cycle.InvariantHeld = conservation.Holds;
            cycle.Status = CycleStatus.Completed;
            cycle.EndedAt = _clock.GetUtcNow();
            db.AddEvent(EventTypes.CycleCompleted, null, number, cycle.EndedAt.Value,
                new { cycle = number, executions = finished.Length, invariantHeld = conservation.Holds });
            await db.SaveChangesAsync(CancellationToken.None);
        }
        if (!conservation.Holds)
        {
            logger.LogCritical("Cycle {Cycle}: the ledger invariant is BROKEN: {Report}", number, conservation);
            throw new LedgerInvariantBrokenException(number, conservation);
        }
        logger.LogInformation("Cycle {Cycle} completed in {Seconds:F2} s; invariant holds (treasury issued {Issued})",
            number, stopwatch.Elapsed.TotalSeconds, conservation.TreasuryIssued);
        return new CycleReport(number, bidCount, result.Winners, finished, conservation, stopwatch.Elapsed);
    }

    private async Task<(int Bids, ClearingResult Result, IReadOnlyList<ExecutionRecord> Executions, MarketPrices NextPrices)>
        ClearAndSettleAsync(long number)
    {
        // Not cancellable: once a cycle starts clearing, it settles (a half-done cycle is repaired only after a crash).
        var ct = CancellationToken.None;
        await PlaceEntryBidsAsync(number, ct);
        _faults.Reached(FaultPoint.BeforeFreeze);
        var clearing = Stopwatch.StartNew();
        await using var db = await databases.CreateDbContextAsync(ct);
        db.Add(new CycleRecord { Number = number, Status = CycleStatus.Clearing, Mechanism = _mechanism.Name, StartedAt = _clock.GetUtcNow() });
        // Freeze: from here on the API files new bids under the next cycle, and these can no longer be cancelled.
        var book = new BidBook(db, ledgerFor(db));
        var bids = await book.FreezeAsync(number, ct);
        db.AddEvent(EventTypes.CycleStarted, null, number, _clock.GetUtcNow(), new { cycle = number, bids = bids.Count, mechanism = _mechanism.Name });
        await db.SaveChangesAsync(ct);
        _faults.Reached(FaultPoint.AfterFreeze);

        var prices = await CurrentPricesAsync(db, ct);
        var escrows = bids.ToDictionary(b => b.Id, b => b.EscrowTransferId);
        var step = CycleClearing.Run(new CycleClearingInput(number, bids.Select(b => new Bid(b.Id, b.AgentId, b.Bundle, b.Amount)).ToList(),
            supply, prices, _mechanism, options.Pricing, (ulong)number, id => escrows[id], options.Reserve.Rule.For(prices)));
        var result = step.Result;
        var market = step.Market;

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await ledgerFor(db).ApplyBatchAsync(step.SettlementOperations(), ct);
        _faults.Reached(FaultPoint.MidSettlement);
        var executions = book.Settle(bids, result.Winners).Select(w => new ExecutionRecord
        {
            Id = ExecutionIdOf(number, w.Bid.Id), AgentId = w.Bid.AgentId, Cycle = number, BidId = w.Bid.Id, Granted = w.Won.Bundle,
        }).ToList();
        await SupersedeExtraWinsAsync(ledgerFor(db), bids, result.Winners, executions, number, ct);
        db.AddRange(executions);
        db.AddRange(market.ToRecords());
        var cycle = await db.Set<CycleRecord>().SingleAsync(c => c.Number == number, ct);
        cycle.Status = CycleStatus.Settled;
        cycle.BidCount = bids.Count;
        cycle.WinnerCount = result.Winners.Count;
        cycle.Welfare = result.Welfare;
        cycle.Revenue = result.Revenue;
        AddSettlementEvents(db, number, bids, step);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        metrics?.CycleSettled(clearing.Elapsed, bids.Count, result.Winners.Count, result.Revenue,
            market.Kinds.Select(k => (k.Kind, k.Utilization, k.NextPrice)));
        LogSettlement(bids, step);
        _faults.Reached(FaultPoint.AfterSettlement);
        return (bids.Count, result, executions.Where(e => e.Status == ExecutionStatus.Pending).ToList(), market.NextPrices);
    }

    /// <summary>The stream's settlement events, saved in the settlement's own transaction: one per bid, then the cycle's.</summary>
    private void AddSettlementEvents(CyAgentsDbContext db, long number, IReadOnlyList<BidRecord> bids, CycleClearingOutcome step)
    {
        var now = _clock.GetUtcNow();
        var won = step.Result.Winners.ToDictionary(w => w.BidId);
        foreach (var bid in bids)
        {
            var payment = won.TryGetValue(bid.Id, out var w) ? w.Payment : 0;
            db.AddEvent(EventTypes.BidSettled, bid.AgentId, number, now,
                new { bidId = bid.Id, outcome = won.ContainsKey(bid.Id) ? "won" : "lost", amount = bid.Amount, payment });
        }
        db.AddEvent(EventTypes.CycleSettled, null, number, now, new
        {
            cycle = number, mechanism = step.Result.Mechanism, bids = bids.Count, winners = step.Result.Winners.Count,
            welfare = step.Result.Welfare, revenue = step.Result.Revenue,
        });
    }

    /// <summary>
    /// One execution per agent per cycle (ADR 0075), whatever the mechanism granted: of an agent's winning bids the one it
    /// offered most for runs (ties: the lowest bid id); the others are recorded <see cref="ExecutionStatus.Superseded"/> and
    /// their payment comes back from the treasury (<see cref="OneRunRefundId"/>), in the settlement's own transaction.
    /// </summary>
    private async Task SupersedeExtraWinsAsync(ILedger ledger, IReadOnlyList<BidRecord> bids, IReadOnlyList<Allocation> winners,
        List<ExecutionRecord> executions, long number, CancellationToken ct)
    {
        var amount = bids.ToDictionary(b => b.Id, b => b.Amount);
        var payment = winners.ToDictionary(w => w.BidId, w => w.Payment);
        foreach (var agent in executions.GroupBy(e => e.AgentId).Where(g => g.Count() > 1))
        {
            var ordered = agent.OrderByDescending(e => amount[e.BidId!]).ThenBy(e => e.BidId, StringComparer.Ordinal).ToList();
            var runs = ordered[0];
            foreach (var extra in ordered.Skip(1))
            {
                var paid = payment[extra.BidId!];
                if (paid > 0)
                    await ledger.TransferAsync(new TransferRequest(OneRunRefundId(extra.BidId!), AccountIds.Treasury, AccountIds.ForAgent(extra.AgentId),
                        paid, TransferKind.Refund, number, $"refund of bid {extra.BidId}: bid {runs.BidId} of the same agent runs in cycle {number}"), ct);
                extra.Status = ExecutionStatus.Superseded;
                extra.EndedAt = _clock.GetUtcNow();
                extra.Error = $"not run: bid {runs.BidId} of the same agent runs in this cycle (one execution per agent per cycle); refunded {paid} credits";
                logger.LogInformation("Bid {BidId} of {AgentId} won but does not run: its bid {RunningBidId} runs in cycle {Cycle}; refunded {Refunded} credits",
                    extra.BidId, extra.AgentId, runs.BidId, number, paid);
            }
        }
    }

    /// <summary>The refund of a winning bid that does not run because another of its agent's bids runs: <c>bid:&lt;id&gt;:one-run-refund</c>.</summary>
    public static string OneRunRefundId(string bidId) => $"bid:{bidId}:one-run-refund";

    /// <summary>One audit event per settled bid: won or lost, what it paid, and why (a rejected bid with its reason).</summary>
    private void LogSettlement(IReadOnlyList<BidRecord> bids, CycleClearingOutcome step)
    {
        var won = step.Result.Winners.ToDictionary(w => w.BidId);
        var rejected = step.Rejected.GroupBy(r => r.Bid.Id).ToDictionary(g => g.Key, g => g.First().Reason);
        foreach (var bid in bids)
        {
            var (outcome, payment, reason) = won.TryGetValue(bid.Id, out var w)
                ? ("Won", w.Payment, $"granted by {step.Result.Mechanism}")
                : rejected.TryGetValue(bid.Id, out var why)
                    ? ("Lost", 0L, "rejected: " + why)
                    : ("Lost", 0L, $"not granted by {step.Result.Mechanism} (outbid or no capacity left)");
            var level = rejected.ContainsKey(bid.Id) ? LogLevel.Warning : LogLevel.Information;
            logger.Log(level, "Bid {BidId} of {AgentId} settled: {Outcome}, payment {Payment} of {Amount} credits for {Bundle}; {Reason}",
                bid.Id, bid.AgentId, outcome, payment, bid.Amount, bid.Bundle.ToString(), reason);
        }
    }

    /// <summary>
    /// An agent bids only while it runs, so a newcomer (Genesis, a freshly spawned child, an agent an operator created) that
    /// has never bid gets one entry bid — its manifest's <c>entryBid</c>, else the configured one; the amount capped at its
    /// balance — to get its first turn.
    /// </summary>
    private async Task PlaceEntryBidsAsync(long number, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var newcomers = await db.Set<AgentRecord>()
            .Where(a => a.Status == AgentStatus.Active && !db.Set<BidRecord>().Any(b => b.AgentId == a.Id))
            .OrderBy(a => a.Id).Select(a => new { a.Id, a.ManifestJson }).ToListAsync(ct);
        foreach (var newcomer in newcomers)
        {
            var agentId = newcomer.Id;
            var (wanted, bundle) = EntryBidOf(newcomer.ManifestJson, agentId);
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var ledger = ledgerFor(db);
            var available = (await ledger.GetBalanceAsync(AccountIds.ForAgent(agentId), ct)).Available;
            var amount = Math.Min(wanted, available);
            if (amount < 1) continue;
            var bidId = $"entry-{agentId}";
            await new BidBook(db, ledger).PlaceAsync(new BidPlacement(bidId, agentId, number, bundle, amount, _clock.GetUtcNow(),
                $"entry bid for {agentId}'s first turn"), ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            logger.LogInformation("Entry bid {BidId} of {Amount} credits placed for newcomer {AgentId} in cycle {Cycle} ({Bundle})",
                bidId, amount, agentId, number, bundle);
        }
    }

    private (long Amount, ResourceBundle Bundle) EntryBidOf(string? manifestJson, string agentId)
    {
        var entry = options.Genesis;
        try
        {
            if (AgentManifestReader.FromStored(manifestJson).EntryBid is { } bid) return (bid.Amount, bid.Bundle);
        }
        catch (AgentManifestException e)
        {
            // Stored manifests were checked at creation; one that no longer reads must not stop the cycle for everyone.
            logger.LogWarning("The stored manifest of {AgentId} cannot be read ({Error}); its entry bid is the configured one", agentId, e.Message);
        }
        return (entry.FirstBidAmount, entry.FirstBundle);
    }

    /// <summary>
    /// Executions the host ended (launch failed, engine lost, stopped by shutdown) are refunded and re-entered for the next
    /// cycle (ADR 0085): a host fault must never end an agent's life. A crash before this runs is repaired by recovery.
    /// </summary>
    private async Task RepairHostFaultsAsync(IEnumerable<string> executionIds)
    {
        foreach (var id in executionIds)
        {
            await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
            var repair = await HostFaultSettlement.RepairAsync(db, ledgerFor(db), id, _clock.GetUtcNow(), CancellationToken.None);
            if (repair is not null)
                logger.LogWarning("Execution {ExecutionId} of {AgentId} was ended by the host: refunded {Refunded} credits, re-entry bid {BidId}",
                    repair.ExecutionId, repair.AgentId, repair.Refunded, repair.ReentryBidId ?? "(none: it has an open bid or no credits)");
        }
    }

    private async Task<ExecutionRecord> ExecuteAsync(ExecutionRecord execution, MarketPrices nextPrices, CancellationToken ct)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["Component"] = "Orchestrator", ["Cycle"] = execution.Cycle, ["ExecutionId"] = execution.Id, ["AgentId"] = execution.AgentId,
        });
        var bundle = execution.Granted;
        ExecutionOutcome outcome;
        var tokenIssued = false;
        var contextDelivered = false;
        DateTimeOffset? handedOver = null;
        try
        {
            string? strategy, manifestJson;
            AccountBalance balance;
            await using (var db = await databases.CreateDbContextAsync(CancellationToken.None))
            {
                var agent = await db.Set<AgentRecord>().Where(a => a.Id == execution.AgentId)
                    .Select(a => new { a.StrategyJson, a.ManifestJson }).FirstOrDefaultAsync();
                (strategy, manifestJson) = (agent?.StrategyJson, agent?.ManifestJson);
                balance = await ledgerFor(db).GetBalanceAsync(AccountIds.ForAgent(execution.AgentId));
            }
            // The manifest stored at creation says what runs (ADR 0100); the workspace's own agent.json is never re-read.
            var manifest = AgentManifestReader.FromStored(manifestJson);
            var program = programs is null ? null : await programs.ForAsync(manifest, CancellationToken.None);
            var uid = await _uids.ForAsync(execution.AgentId, CancellationToken.None);
            var workspace = workspaces.Prepare(execution.AgentId, strategy, uid);
            var token = await tokens.IssueAsync(execution.AgentId, execution.Id, execution.Cycle, CancellationToken.None);
            tokenIssued = true;
            var deadline = _clock.GetUtcNow() + options.ExecutionWindow;
            var environment = new AgentEnvironment
            {
                AgentId = execution.AgentId, ExecutionId = execution.Id, Token = token, Cycle = execution.Cycle, NextCycle = execution.Cycle + 1,
                Bundle = bundle.ToWire(),
                Balance = new BalanceView(balance.Posted, balance.Reserved, balance.Available),
                Prices = new PricesView(nextPrices[ResourceKind.Cpu], nextPrices[ResourceKind.Memory], nextPrices[ResourceKind.Tokens],
                    nextPrices[ResourceKind.Attention]),
                ApiSocket = containerApiSocket, Deadline = deadline,
            };
            // One context per execution, outside the workspace, mounted read-only (ADR 0070): executions never share one.
            var context = workspaces.DeliverEnvironment(environment, uid);
            contextDelivered = true;
            await UpdateExecutionAsync(execution.Id, e =>
            {
                e.Status = ExecutionStatus.Running;
                e.StartedAt = _clock.GetUtcNow();
                e.Deadline = deadline;
            });
            handedOver = _clock.GetUtcNow();
            outcome = await sandbox.RunAsync(
                new ExecutionRequest(execution.Id, execution.AgentId, execution.Cycle, bundle, workspace, environment, options.ExecutionWindow)
                {
                    ContextFolder = context, Uid = uid, WorkspaceQuotaBytes = workspaces.Quota?.Bytes, Program = program,
                    Service = manifest.Kind == AgentKind.Service,
                }, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One agent's launch problem (workspace, engine, token) must not stop the other winners or the cycle's bookkeeping.
            logger.LogError("Execution {ExecutionId} of {AgentId} could not be launched: {Error}", execution.Id, execution.AgentId, e.Message);
            outcome = new ExecutionOutcome(ExecutionStatus.LaunchFailed, null, null, null, _clock.GetUtcNow(), e.Message, []);
        }
        finally
        {
            if (tokenIssued) await tokens.RevokeAsync(execution.Id, CancellationToken.None);
            if (contextDelivered) RemoveContext(execution.Id);
        }
        metrics?.ExecutionEnded(outcome.Status.ToString(), outcome.InRunningLease ? null : outcome.StartedAt - handedOver);
        var finished = await UpdateExecutionAsync(execution.Id, e =>
        {
            e.Status = outcome.Status;
            e.ExitCode = outcome.ExitCode;
            e.ContainerId = outcome.ContainerId;
            e.StartedAt = outcome.StartedAt ?? e.StartedAt;
            e.EndedAt = outcome.EndedAt;
            e.Error = outcome.Error is { Length: > 2000 } long_ ? long_[..2000] : outcome.Error;
            e.PeakMemoryBytes = outcome.PeakMemoryBytes;
            e.CpuTimeNanos = outcome.CpuTimeNanos;
        });
        // Workspace history (ADR 0108): the workspace as this execution left it, still mounted; a failure is only logged.
        if (history is not null) await history.RecordAsync(finished, CancellationToken.None);
        return finished;
    }

    private void RemoveContext(string executionId)
    {
        try { workspaces.RemoveEnvironment(executionId); }
        catch (IOException e) { logger.LogWarning("Context folder of {ExecutionId} could not be removed: {Error}", executionId, e.Message); }
    }

    private async Task<ExecutionRecord> UpdateExecutionAsync(string id, Action<ExecutionRecord> change)
    {
        await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
        var record = await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == id);
        var before = record.Status;
        change(record);
        // The execution's event is saved with the status change it reports.
        if (record.Status != before && record.Status == ExecutionStatus.Running)
            db.AddEvent(EventTypes.ExecutionStarted, record.AgentId, record.Cycle, _clock.GetUtcNow(),
                new { executionId = record.Id, bundle = record.Granted.ToString() });
        else if (record.Status != before)
            db.AddEvent(EventTypes.ExecutionEnded, record.AgentId, record.Cycle, _clock.GetUtcNow(),
                new { executionId = record.Id, status = record.Status.ToString(), exitCode = record.ExitCode, error = record.Error });
        await db.SaveChangesAsync(CancellationToken.None);
        return record;
    }

    private async Task SetStatusAsync(long number, CycleStatus status)
    {
        await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
        var cycle = await db.Set<CycleRecord>().SingleAsync(c => c.Number == number);
        cycle.Status = status;
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>Prices in force: the last cycle's next prices, or the configured initial prices.</summary>
    private async Task<MarketPrices> CurrentPricesAsync(CyAgentsDbContext db, CancellationToken ct)
    {
        var last = await db.Set<MarketStateRecord>().MaxAsync(s => (long?)s.Cycle, ct);
        if (last is null) return options.Pricing.InitialPrices;
        var rows = await db.Set<MarketStateRecord>().Where(s => s.Cycle == last).ToListAsync(ct);
        double Next(ResourceKind kind) => rows.FirstOrDefault(r => r.Kind == kind)?.NextPrice ?? options.Pricing.InitialPrices[kind];
        return new MarketPrices(Next(ResourceKind.Cpu), Next(ResourceKind.Memory), Next(ResourceKind.Tokens), Next(ResourceKind.Attention));
    }

    /// <summary>Execution ids double as container names: letters, digits, dot, dash and underscore only.</summary>
    public static string ExecutionIdOf(long cycle, string bidId)
    {
        var safe = new string(bidId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        var id = $"c{cycle}-{safe}";
        if (id.Length <= 64) return id;
        // Cut ids keep a hash of the whole, so two long bid ids (a chain of re-entry bids) never share an execution id.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)))[..16];
        return $"{id[..47]}-{hash}";
    }

    private IDisposable? Scope(long cycle) =>
        logger.BeginScope(new Dictionary<string, object> { ["Component"] = "Orchestrator", ["Cycle"] = cycle });
}
