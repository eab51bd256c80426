using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests.Infrastructure;

/// <summary>Balances of every account, the transfers touching them, and the row counts of the API's tables.</summary>
public sealed record StateSnapshot(string Balances, string Transfers, string Rows, string WorkspaceFolders)
{
    public static async Task<StateSnapshot> TakeAsync(ApiFactory api)
    {
        await using var db = await api.DbAsync();
        var ledger = await api.LedgerAsync();
        var agentIds = await db.Set<AgentRecord>().Select(a => a.Id).OrderBy(a => a).ToListAsync();
        var accounts = new[] { AccountIds.Treasury, AccountIds.Escrow }.Concat(agentIds.Select(AccountIds.ForAgent)).ToList();
        var balances = new List<string>();
        var transfers = new List<string>();
        foreach (var account in accounts)
        {
            try
            {
                var b = await ledger.GetBalanceAsync(account);
                balances.Add($"{account}={b.Posted}/{b.Reserved}/{b.Incoming}");
                var t = await ledger.GetTransfersAsync(account, 0, 100_000);
                transfers.Add($"{account}:{string.Join(",", t.Select(x => x.Id + ":" + x.State))}");
            }
            catch (LedgerException e) when (e.Error == LedgerError.UnknownAccount)
            {
                balances.Add($"{account}=none");
            }
        }
        var rows = string.Join(" ",
            $"agents={await db.Set<AgentRecord>().CountAsync()}",
            $"bids={await db.Set<BidRecord>().CountAsync()}",
            $"bids-open={await db.Set<BidRecord>().CountAsync(b => b.Status == BidStatus.Open)}",
            $"prompts={await db.Set<PromptRecord>().CountAsync()}",
            $"answered={await db.Set<PromptRecord>().CountAsync(p => p.Status == PromptStatus.Answered)}",
            $"keys={await db.Set<IdempotencyRecord>().CountAsync()}",
            $"tokens={await db.Set<AgentTokenRecord>().CountAsync()}",
            $"tasks={await db.Set<TaskRecord>().CountAsync()}",
            $"submissions={await db.Set<TaskSubmissionRecord>().CountAsync()}");
        var folders = string.Join(",", Directory.GetDirectories(api.WorkspacesRoot).Select(Path.GetFileName).Order());
        return new StateSnapshot(string.Join(" ", balances), string.Join(" | ", transfers), rows, folders);
    }
}
