using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Faults;

/// <summary>
/// An audit that trusts nothing the orchestrator computed: balances recomputed from the <c>ledger_transfers</c> rows with
/// plain SQL, double entry, every bid's escrow resolved exactly once (or pending with the bid open), and no half-written
/// record. Returns the problems found; empty means the books are whole.
/// </summary>
public static class LedgerAudit
{
    public static async Task<IReadOnlyList<string>> RunAsync(string databasePath)
    {
        var problems = new List<string>();
        await using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        await connection.OpenAsync();

        var recomputed = new Dictionary<string, (long Posted, long Reserved, long Incoming)>();
        void Add(string account, long posted, long reserved, long incoming)
        {
            var (p, r, i) = recomputed.GetValueOrDefault(account);
            recomputed[account] = (p + posted, r + reserved, i + incoming);
        }
        var resolutions = new Dictionary<string, (int State, long Posted)>();
        var pendings = new Dictionary<string, long>();
        var transferIds = new HashSet<string>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT id, debit_account_id, credit_account_id, amount, state, pending_id, posted_amount, kind FROM ledger_transfers ORDER BY sequence";
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var (id, debit, credit, amount, state) = (r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), (TransferState)r.GetInt32(4));
                if (!transferIds.Add(id)) problems.Add($"transfer id {id} appears twice");
                switch (state)
                {
                    case TransferState.Posted: Add(debit, -amount, 0, 0); Add(credit, amount, 0, 0); break;
                    case TransferState.Pending: Add(debit, 0, amount, 0); Add(credit, 0, 0, amount); pendings[id] = amount; break;
                    default:
                        var pendingId = r.GetString(5);
                        var posted = r.IsDBNull(6) ? 0 : r.GetInt64(6);
                        if (!resolutions.TryAdd(pendingId, ((int)state, posted))) problems.Add($"pending transfer {pendingId} resolved twice");
                        Add(debit, -posted, -amount, 0);
                        Add(credit, posted, 0, -amount);
                        break;
                }
            }
        }
        var stored = new Dictionary<string, (long Posted, long Reserved, long Incoming, AccountKind Kind)>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT id, posted, reserved, incoming, kind FROM ledger_accounts";
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) stored[r.GetString(0)] = (r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), (AccountKind)r.GetInt32(4));
        }
        foreach (var (account, (posted, reserved, incoming, kind)) in stored)
        {
            var (p, rs, i) = recomputed.GetValueOrDefault(account);
            if ((p, rs, i) != (posted, reserved, incoming))
                problems.Add($"account {account}: stored ({posted}, {reserved}, {incoming}) but the transfers say ({p}, {rs}, {i})");
            if (kind != AccountKind.Treasury && posted - reserved < 0) problems.Add($"account {account} is overdrawn: {posted - reserved}");
        }
        foreach (var account in recomputed.Keys.Where(a => !stored.ContainsKey(a))) problems.Add($"transfers touch unknown account {account}");
        if (stored.Values.Sum(a => a.Posted) != 0) problems.Add($"double entry broken: posted balances sum to {stored.Values.Sum(a => a.Posted)}");
        if (stored.Values.Sum(a => a.Reserved) != stored.Values.Sum(a => a.Incoming)) problems.Add("reserved and incoming pending amounts differ");

        await using var db = new CyAgentsDbContext(DatabaseOptions.ForSqliteFile(databasePath).BuildOptions());
        var bids = await db.Set<BidRecord>().AsNoTracking().ToListAsync();
        var executions = await db.Set<ExecutionRecord>().AsNoTracking().ToListAsync();
        var agents = await db.Set<AgentRecord>().AsNoTracking().Select(a => a.Id).ToListAsync();
        foreach (var bid in bids)
        {
            var resolved = resolutions.TryGetValue(bid.EscrowTransferId, out var resolution);
            if (!pendings.ContainsKey(bid.EscrowTransferId)) problems.Add($"bid {bid.Id} has no escrow transfer");
            switch (bid.Status)
            {
                case BidStatus.Open when resolved: problems.Add($"open bid {bid.Id} has a resolved escrow"); break;
                case BidStatus.Frozen: problems.Add($"bid {bid.Id} is still frozen after recovery: lost to the book"); break;
                case BidStatus.Won when !resolved || resolution.State != (int)TransferState.PendingPosted || resolution.Posted != bid.Payment:
                    problems.Add($"won bid {bid.Id}: escrow not posted at its payment {bid.Payment}"); break;
                case BidStatus.Lost or BidStatus.Cancelled when !resolved || resolution.State != (int)TransferState.PendingVoided:
                    problems.Add($"{bid.Status} bid {bid.Id}: escrow not voided"); break;
            }
            if (bid.Status == BidStatus.Won && executions.Count(e => e.BidId == bid.Id) != 1) problems.Add($"won bid {bid.Id} has no single execution");
        }
        var bidEscrows = bids.Select(b => b.EscrowTransferId).ToHashSet();
        foreach (var escrow in pendings.Keys.Where(id => id.StartsWith("bid:", StringComparison.Ordinal) && !bidEscrows.Contains(id)))
            problems.Add($"escrow {escrow} has no bid: half-written placement");
        var byId = bids.ToDictionary(b => b.Id);
        foreach (var execution in executions)
        {
            if (execution.Status is ExecutionStatus.Pending or ExecutionStatus.Running) problems.Add($"execution {execution.Id} left {execution.Status}");
            if (execution.BidId is null || !byId.TryGetValue(execution.BidId, out var bid) || bid.Status != BidStatus.Won)
                problems.Add($"execution {execution.Id} has no won bid");
            else if (execution.Status.IsHostFault() && bid.Payment > 0 && !transferIds.Contains(CyAgents.Orchestrator.Cycles.HostFaultSettlement.RefundId(execution.Id)))
                problems.Add($"execution {execution.Id} ended by the host ({execution.Status}) was not refunded");
            else if (execution.Status == ExecutionStatus.Superseded && bid.Payment > 0
                     && !transferIds.Contains(CyAgents.Orchestrator.Cycles.AllocationCycle.OneRunRefundId(bid.Id)))
                problems.Add($"superseded execution {execution.Id} was not refunded");
        }
        foreach (var agent in agents.Where(a => !stored.ContainsKey(AccountIds.ForAgent(a)))) problems.Add($"agent {agent} has no account");
        foreach (var account in stored.Keys.Where(a => a.StartsWith("agent:", StringComparison.Ordinal) && !agents.Contains(a["agent:".Length..])))
            problems.Add($"account {account} has no agent: half-written spawn");
        foreach (var cycle in await db.Set<CycleRecord>().AsNoTracking().Where(c => c.Status != CycleStatus.Completed && c.Status != CycleStatus.Interrupted).ToListAsync())
            problems.Add($"cycle {cycle.Number} left {cycle.Status}");
        return problems;
    }
}
