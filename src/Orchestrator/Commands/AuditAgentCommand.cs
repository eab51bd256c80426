using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Logging;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// <c>cyagents audit agent ID [--cycle N]</c>: what an agent bid, won, paid, earned and spent, per cycle, and why — from the
/// database (bids, executions, the agent's ledger transfers, read-only) and system.log (the settlement line of each bid,
/// which carries the mechanism's reason). Text by default, <c>--json</c> for machines.
/// </summary>
public static class AuditAgentCommand
{
    /// <summary>The <c>agent</c> subcommand of <c>audit</c>.</summary>
    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "The agent's id, e.g. genesis-0." };
        var cycle = new Option<long?>("--cycle") { Description = "Only this cycle (a cycle the run has reached).", HelpName = "N" };
        var data = new Option<string>("--data") { Description = "The data folder of the run (cyagents.db, system.log).", DefaultValueFactory = _ => "data" };
        var db = new Option<string?>("--db") { Description = "SQLite database file (default: <data>/cyagents.db).", HelpName = "FILE" };
        var log = new Option<string?>("--log") { Description = "The system log (default: <data>/system.log; rolled files are read too).", HelpName = "PATH" };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON object." };
        var command = new Command("agent", """
            Answers "what did this agent bid, win, pay, earn and spend, and why", per cycle: each bid (amount, bundle),
            its outcome and payment with the mechanism's reason (the settlement line in system.log), the executions it
            won (status, exit code, error), its ledger transfers by kind (earned: endowment, refunds, rewards, gifts in;
            spent: bid payments, spawn fees and endowments, token charges, gifts out), and its posted balance before and
            after the cycle's transfers. Reads the database read-only; works whether or not `run` runs.

            Example:
              cyagents audit agent genesis-0
              cyagents audit agent genesis-0 --cycle 3 --json

            An unknown agent or a cycle the run has not reached exits 2 with one line on stderr.
            """)
        {
            id, cycle, data, db, log, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var agentId = parse.GetValue(id)!;
            var only = parse.GetValue(cycle);
            if (only is < 1)
            {
                stderr.WriteLine($"cyagents audit agent: --cycle must be a cycle number (1 or more), not {only}.");
                return ExitCodes.Usage;
            }
            var dataFolder = RunCommand.FromRepository(parse.GetValue(data)!);
            var database = parse.GetValue(db) is { } file ? RunCommand.FromRepository(file) : Path.Combine(dataFolder, "cyagents.db");
            var logPath = parse.GetValue(log) is { } l ? RunCommand.FromRepository(l) : Path.Combine(dataFolder, "system.log");
            if (!File.Exists(database))
            {
                stderr.WriteLine($"cyagents audit agent: no database at {database} (has run started with --data {parse.GetValue(data)}?).");
                return ExitCodes.Database;
            }
            try
            {
                var options = new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={database};Mode=ReadOnly" }.BuildOptions();
                await using var context = new CyAgentsDbContext(options);
                var agent = await context.Set<AgentRecord>().AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, ct);
                if (agent is null)
                {
                    stderr.WriteLine($"cyagents audit agent: no agent '{agentId}' in {database}.");
                    return ExitCodes.Usage;
                }
                var reached = await context.Set<CycleRecord>().Select(c => (long?)c.Number).MaxAsync(ct) ?? 0;
                if (only is { } n && n > reached)
                {
                    stderr.WriteLine($"cyagents audit agent: cycle {n} has not been reached (the run is at cycle {reached}).");
                    return ExitCodes.Usage;
                }
                var report = await BuildAsync(context, agent, only, logPath, ct);
                stdout.Write(parse.GetValue(json) ? JsonSerializer.Serialize(report, Json) + "\n" : Format(report));
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is DbException or InvalidOperationException { InnerException: DbException })
            {
                stderr.WriteLine($"cyagents audit agent: cannot read the database {database}: {e.Message.Split('\n')[0].Trim()}");
                return ExitCodes.Database;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"cyagents audit agent: cannot read the log {logPath}: {e.Message.Split('\n')[0].Trim()}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>The whole answer for one agent.</summary>
    public sealed record AgentAudit(string AgentId, string? ParentId, int Generation, AuditBalance Balance, IReadOnlyList<CycleAudit> Cycles);

    /// <summary>The agent's balance now.</summary>
    public sealed record AuditBalance(long Posted, long Reserved, long Available);

    /// <summary>One cycle (null: transfers outside any cycle, such as a root's endowment).</summary>
    public sealed record CycleAudit(long? Cycle, long BalanceBefore, long BalanceAfter, IReadOnlyList<BidAudit> Bids,
        IReadOnlyList<ExecutionAudit> Executions, IReadOnlyList<TransferAudit> Transfers,
        IReadOnlyDictionary<string, long> Earned, IReadOnlyDictionary<string, long> Spent);

    /// <summary>A bid and how it settled; <c>Reason</c> is the mechanism's, from the settlement line in system.log.</summary>
    public sealed record BidAudit(string Id, long Amount, AuditBundle Bundle, string Outcome, long? Payment, string? Reason);

    /// <summary>A bundle with its units in the names.</summary>
    public sealed record AuditBundle(long CpuMillicores, long MemoryMiB, long Tokens, long AttentionBasisPoints);

    /// <summary>An execution the agent won.</summary>
    public sealed record ExecutionAudit(string Id, string? BidId, string Status, int? ExitCode, string? Error);

    /// <summary>One ledger row touching the agent's account; <c>Change</c> is what it did to the posted balance.</summary>
    public sealed record TransferAudit(string Id, long Sequence, string Kind, string State, string Debit, string Credit, long Amount, long Change, string? Memo);

    /// <summary>Reads the agent's bids, executions and transfers and the log's settlement reasons into a report.</summary>
    public static async Task<AgentAudit> BuildAsync(CyAgentsDbContext db, AgentRecord agent, long? only, string logPath, CancellationToken ct)
    {
        var account = AccountIds.ForAgent(agent.Id);
        var bids = await db.Set<BidRecord>().AsNoTracking().Where(b => b.AgentId == agent.Id).ToListAsync(ct);
        var executions = await db.Set<ExecutionRecord>().AsNoTracking().Where(e => e.AgentId == agent.Id).ToListAsync(ct);
        var rows = await db.Set<LedgerTransferRecord>().AsNoTracking()
            .Where(t => t.DebitAccountId == account || t.CreditAccountId == account).OrderBy(t => t.Sequence).ToListAsync(ct);
        var balance = await db.Set<LedgerAccountRecord>().AsNoTracking().FirstOrDefaultAsync(a => a.Id == account, ct);
        var reasons = SettlementReasons(logPath, agent.Id, bids.Select(b => b.Id).ToHashSet(StringComparer.Ordinal));

        // The posted balance replayed in ledger order, so each cycle's before/after is exact where its transfers are.
        var transfers = new List<(long? Cycle, TransferAudit Audit, long Before)>();
        long posted = 0;
        foreach (var t in rows)
        {
            var moved = t.PendingId is not null ? t.PostedAmount ?? 0 : t.State == TransferState.Posted ? t.Amount : 0;
            var change = t.CreditAccountId == account ? moved : -moved;
            var kind = Name(t.Kind.ToString());
            if (t.PendingId is not null && t.Kind == TransferKind.BidEscrow) kind = "bidPayment";
            transfers.Add((t.Cycle, new TransferAudit(t.Id, t.Sequence, kind, Name(t.State.ToString()), t.DebitAccountId, t.CreditAccountId,
                t.Amount, change, t.Memo), posted));
            posted += change;
        }
        var cycles = bids.Select(b => (long?)b.Cycle).Concat(executions.Select(e => (long?)e.Cycle)).Concat(transfers.Select(t => t.Cycle))
            .Distinct().Where(c => only is null || c == only).OrderBy(c => c ?? 0).ToList();
        if (only is not null && cycles.Count == 0) cycles.Add(only);
        var list = new List<CycleAudit>();
        foreach (var c in cycles)
        {
            var mine = transfers.Where(t => t.Cycle == c).ToList();
            // Before the cycle's first transfer; with none, the balance as the ledger stood at the cycle's other records.
            var before = mine.Count > 0 ? mine[0].Before : BalanceAt(transfers, c);
            var after = mine.Count > 0 ? mine[^1].Before + mine[^1].Audit.Change : before;
            list.Add(new CycleAudit(c, before, after,
                bids.Where(b => b.Cycle == c).OrderBy(b => b.CreatedAt).ThenBy(b => b.Id, StringComparer.Ordinal).Select(b => new BidAudit(b.Id, b.Amount,
                    new AuditBundle(b.Bundle.CpuMillicores, b.Bundle.MemoryMiB, b.Bundle.Tokens, b.Bundle.AttentionBasisPoints),
                    Name(b.Status.ToString()), b.Payment, reasons.GetValueOrDefault(b.Id))).ToList(),
                executions.Where(e => e.Cycle == c).OrderBy(e => e.StartedAt).ThenBy(e => e.Id, StringComparer.Ordinal)
                    .Select(e => new ExecutionAudit(e.Id, e.BidId, Name(e.Status.ToString()), e.ExitCode, e.Error)).ToList(),
                mine.Select(t => t.Audit).ToList(),
                Sums(mine.Select(t => t.Audit).Where(t => t.Change > 0)),
                Sums(mine.Select(t => t.Audit).Where(t => t.Change < 0))));
        }
        var available = balance is null ? 0 : balance.Posted - balance.Reserved;
        return new AgentAudit(agent.Id, agent.ParentId, agent.Generation,
            new AuditBalance(balance?.Posted ?? 0, balance?.Reserved ?? 0, available), list);
    }

    private static long BalanceAt(List<(long? Cycle, TransferAudit Audit, long Before)> transfers, long? cycle)
    {
        var later = transfers.FirstOrDefault(t => t.Cycle > cycle);
        return later.Audit is not null ? later.Before : transfers.Count == 0 ? 0 : transfers[^1].Before + transfers[^1].Audit.Change;
    }

    private static SortedDictionary<string, long> Sums(IEnumerable<TransferAudit> transfers)
    {
        var sums = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var t in transfers) sums[t.Kind] = sums.GetValueOrDefault(t.Kind) + Math.Abs(t.Change);
        return sums;
    }

    private static string Name(string pascal) => JsonNamingPolicy.CamelCase.ConvertName(pascal);

    /// <summary>
    /// The reason of each of the agent's bids, from its settlement line (<c>Properties.BidId</c>, <c>Outcome</c>, <c>Reason</c>).
    /// Only lines that mention the agent are parsed; a log that is missing gives no reasons (the report says so per bid).
    /// </summary>
    private static Dictionary<string, string> SettlementReasons(string logPath, string agentId, HashSet<string> bidIds)
    {
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        var needle = "\"AgentId\":" + JsonSerializer.Serialize(agentId);
        foreach (var file in SystemLog.Files(logPath))
        {
            using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            while (reader.ReadLine() is { } line)
            {
                if (!line.Contains(needle, StringComparison.Ordinal) || !line.Contains("\"Outcome\":", StringComparison.Ordinal)) continue;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    if (!doc.RootElement.TryGetProperty("Properties", out var p) || p.ValueKind != JsonValueKind.Object) continue;
                    if (p.TryGetProperty("BidId", out var bid) && bid.GetString() is { } b && bidIds.Contains(b)
                        && p.TryGetProperty("Reason", out var reason) && reason.ValueKind == JsonValueKind.String)
                        reasons[b] = reason.GetString()!;
                }
                catch (JsonException)
                {
                    // Not an event line (verify reports it); the report only lacks that reason.
                }
            }
        }
        return reasons;
    }

    /// <summary>The report as text: a header with the balance, then one block per cycle.</summary>
    public static string Format(AgentAudit a)
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.Append(inv, $"agent {a.AgentId} (generation {a.Generation}{(a.ParentId is null ? "" : $", child of {a.ParentId}")}): ")
            .Append(inv, $"posted {a.Balance.Posted}, reserved {a.Balance.Reserved}, available {a.Balance.Available} credits now\n");
        foreach (var c in a.Cycles)
        {
            text.Append('\n').Append(c.Cycle is { } n ? $"cycle {n}" : "outside cycles")
                .Append(inv, $": balance {c.BalanceBefore} -> {c.BalanceAfter}\n");
            if (c.Bids.Count == 0 && c.Executions.Count == 0 && c.Transfers.Count == 0) text.Append("  no bids, executions or transfers\n");
            foreach (var b in c.Bids)
            {
                var outcome = b.Payment is { } pay ? $"{b.Outcome}, paid {pay}" : b.Outcome;
                text.Append(inv, $"  bid {b.Id}: {b.Amount} credits for {b.Bundle.CpuMillicores}m CPU, {b.Bundle.MemoryMiB} MiB, ")
                    .Append(inv, $"{b.Bundle.Tokens} tokens, {b.Bundle.AttentionBasisPoints} bp attention -> {outcome}")
                    .Append(b.Reason is null ? " (no settlement line in the log)" : $"; {b.Reason}").Append('\n');
            }
            foreach (var e in c.Executions)
                text.Append(inv, $"  execution {e.Id}: {e.Status}, exit {(e.ExitCode?.ToString(inv) ?? "-")}")
                    .Append(e.Error is null ? "" : $" ({e.Error})").Append('\n');
            if (c.Earned.Count > 0) text.Append("  earned: ").AppendJoin(", ", c.Earned.Select(kv => $"{kv.Key} {kv.Value}")).Append('\n');
            if (c.Spent.Count > 0) text.Append("  spent: ").AppendJoin(", ", c.Spent.Select(kv => $"{kv.Key} {kv.Value}")).Append('\n');
            var held = c.Transfers.Where(t => t.Change == 0).ToList();
            if (held.Count > 0) text.Append("  held/released: ").AppendJoin(", ", held.Select(t => $"{t.Kind} {t.Amount} ({t.State})")).Append('\n');
        }
        return text.ToString();
    }
}
