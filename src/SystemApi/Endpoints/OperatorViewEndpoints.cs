using CyAgents.Contracts;
using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Workspaces.History;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// The operator's read views behind the dashboard (issue 13): every agent with its balances, every bid, the whole ledger,
/// and one agent's page. Reads only; each list is paged with the API's page-size cap, so no request does unbounded work.
/// </summary>
internal static class OperatorViewEndpoints
{
    /// <summary>Caps of the agent page's lists: it is one request, so each list shows only the newest rows.</summary>
    private const int DetailBids = 50, DetailExecutions = 20, DetailOutputLines = 40, DetailTransfers = 50, DetailCommits = 20, DetailLlmCalls = 20;
    private const int MaxFilterLength = 128;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGroup(ApiRoutes.Agents).WithTags("Operator").RequiresToken(Caller.OperatorPolicy)
            .MapGet("", ListAgents).WithName("ListAgents")
            .WithSummary("Operator: agents with posted, reserved and available balances, oldest first (paged: skip, take)")
            .WithDescription("Filters: status (Active, Retired), generation, parentId, rootId, namePrefix. `eventSeq` is the event " +
                             "stream's position before the page was read: open `/v1/events?after=eventSeq` to follow changes from there. " +
                             "Refusals: validation (400: an unknown status, a negative generation, skip/take out of range, a filter over 128 characters).")
            .Refuses(400, 403);
        var group = app.MapGroup("/v1/operator").WithTags("Operator").RequiresToken(Caller.OperatorPolicy);
        group.MapGet("/agents/{agentId}", GetAgent).WithName("GetAgentDetail")
            .WithSummary("Operator: one agent's page: balances, children, bids, executions with output, transfers, workspace history, LLM usage")
            .WithDescription($"Each list holds the newest rows only (bids {DetailBids}, executions {DetailExecutions} with their last " +
                             $"{DetailOutputLines} output lines, transfers {DetailTransfers}, commits {DetailCommits}, LLM calls {DetailLlmCalls}); " +
                             "the paged lists have the rest. Refusals: not_found (404).")
            .Refuses(403, 404);
        group.MapGet("/bids", ListBids).WithName("ListAllBids")
            .WithSummary("Operator: every agent's bids, newest first (filters: agentId, cycle, status; paged: skip, take)")
            .WithDescription("status is one of Open, Frozen, Won, Lost, Cancelled. Refusals: validation (400).")
            .Refuses(400, 403);
        group.MapGet("/transfers", ListTransfers).WithName("ListTransfers")
            .WithSummary("Operator: the ledger's rows, newest first (filters: account, kind, cycle; paged: skip, take)")
            .WithDescription("Every stored row: posted and pending transfers and the resolutions (post or void) of pending ones, which " +
                             "name the transfer they resolve in pendingId. account matches either side (e.g. `agent:ada`, `treasury`, " +
                             "`escrow`); kind is a transfer kind's name (Endowment, BidEscrow, ClearingCharge, ...). Refusals: validation (400).")
            .Refuses(400, 403);
    }

    private static async Task<Results<Ok<AgentPage>, ProblemHttpResult>> ListAgents(IDbContextFactory<CyAgentsDbContext> databases,
        IOptions<SystemApiOptions> options, CancellationToken ct, string? status = null, int? generation = null, string? parentId = null,
        string? rootId = null, string? namePrefix = null, int skip = 0, int take = 50)
    {
        var errors = PagingErrors(skip, take, options.Value.MaxPageSize);
        AgentStatus? wanted = null;
        if (status is not null)
        {
            if (Enum.TryParse<AgentStatus>(status, ignoreCase: true, out var s) && Enum.IsDefined(s) && !int.TryParse(status, out _)) wanted = s;
            else errors["status"] = [$"must be one of {string.Join(", ", Enum.GetNames<AgentStatus>())}"];
        }
        if (generation is < 0) errors["generation"] = ["must not be negative"];
        CheckLength(errors, ("parentId", parentId), ("rootId", rootId), ("namePrefix", namePrefix));
        if (errors.Count > 0) return Problems.Validation(errors);

        await using var db = await databases.CreateDbContextAsync(ct);
        // Read before the page: an event committed in between is replayed to the dashboard, never missed.
        var seq = await db.Set<EventRecord>().MaxAsync(e => (long?)e.Seq, ct) ?? 0;
        var query = db.Set<AgentRecord>().AsNoTracking();
        if (wanted is not null) query = query.Where(a => a.Status == wanted);
        if (generation is not null) query = query.Where(a => a.Generation == generation);
        if (parentId is not null) query = query.Where(a => a.ParentId == parentId);
        if (rootId is not null) query = query.Where(a => a.RootId == rootId);
        if (!string.IsNullOrEmpty(namePrefix)) query = query.Where(a => a.Name.StartsWith(namePrefix));
        var total = await query.CountAsync(ct);
        var rows = await query.OrderBy(a => a.CreatedCycle).ThenBy(a => a.Id).Skip(skip).Take(take).ToListAsync(ct);
        var summaries = await SummariesAsync(db, rows, ct);
        return TypedResults.Ok(new AgentPage(skip, take, total, seq, summaries));
    }

    private static async Task<Results<Ok<AgentDetail>, ProblemHttpResult>> GetAgent(string agentId, IDbContextFactory<CyAgentsDbContext> databases,
        LedgerBinding ledgers, WorkspaceHistory history, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var agent = await db.Set<AgentRecord>().AsNoTracking().FirstOrDefaultAsync(a => a.Id == agentId, ct);
        if (agent is null) return Problems.NotFound($"no agent '{agentId}'");
        var summary = (await SummariesAsync(db, [agent], ct))[0];
        var children = await db.Set<AgentRecord>().AsNoTracking().Where(a => a.ParentId == agentId)
            .OrderBy(a => a.CreatedCycle).ThenBy(a => a.Id).Select(a => a.Id).Take(500).ToListAsync(ct);
        var bids = await db.Set<BidRecord>().AsNoTracking().Where(b => b.AgentId == agentId)
            .OrderByDescending(b => b.Cycle).ThenByDescending(b => b.Id).Take(DetailBids).ToListAsync(ct);
        var executions = await db.Set<ExecutionRecord>().AsNoTracking().Where(e => e.AgentId == agentId)
            .OrderByDescending(e => e.Cycle).ThenBy(e => e.Id).Take(DetailExecutions).ToListAsync(ct);
        var withOutput = new List<ExecutionWithOutput>(executions.Count);
        foreach (var e in executions) withOutput.Add(new ExecutionWithOutput(e.ToWire(), await OutputTailAsync(db, e, ct)));

        IReadOnlyList<TransactionDto> transfers = [];
        await using (var ledger = ledgers.Bind(db))
        {
            try { transfers = (await ledger.Ledger.GetTransfersAsync(AccountIds.ForAgent(agentId), 0, DetailTransfers, ct)).Select(t => t.ToWire()).ToList(); }
            catch (LedgerException e) when (e.Error == LedgerError.UnknownAccount) { /* an agent without an account has no transfers */ }
        }
        WorkspaceHistoryPage? commits;
        try { commits = await history.ReadAsync(agentId, 0, DetailCommits, ct); }
        catch (ArgumentException) { commits = null; }

        var calls = db.Set<LlmCallRecord>().AsNoTracking().Where(c => c.AgentId == agentId);
        var sums = await calls.GroupBy(_ => 1).Select(g => new
        {
            Count = g.Count(), Prompt = g.Sum(c => c.PromptTokens), Completion = g.Sum(c => c.CompletionTokens), Charged = g.Sum(c => c.ChargedTokens),
        }).FirstOrDefaultAsync(ct);
        // Ids begin with the arrival time in hex ticks, so ordering by id is ordering by arrival.
        var recent = await calls.OrderByDescending(c => c.Id).Take(DetailLlmCalls).ToListAsync(ct);
        var llm = new LlmUsage(sums?.Count ?? 0, sums?.Prompt ?? 0, sums?.Completion ?? 0, sums?.Charged ?? 0,
            recent.Select(ToWire).ToList());
        return TypedResults.Ok(new AgentDetail(summary, children, bids.Select(b => b.ToWire()).ToList(), withOutput, transfers, commits, llm));
    }

    private static async Task<Results<Ok<OperatorBidPage>, ProblemHttpResult>> ListBids(IDbContextFactory<CyAgentsDbContext> databases,
        IOptions<SystemApiOptions> options, CancellationToken ct, string? agentId = null, long? cycle = null, string? status = null,
        int skip = 0, int take = 50)
    {
        var errors = PagingErrors(skip, take, options.Value.MaxPageSize);
        BidStatus? wanted = null;
        if (status is not null)
        {
            if (Enum.TryParse<BidStatus>(status, ignoreCase: true, out var s) && Enum.IsDefined(s) && !int.TryParse(status, out _)) wanted = s;
            else errors["status"] = [$"must be one of {string.Join(", ", Enum.GetNames<BidStatus>())}"];
        }
        if (cycle is < 0) errors["cycle"] = ["must not be negative"];
        CheckLength(errors, ("agentId", agentId));
        if (errors.Count > 0) return Problems.Validation(errors);

        await using var db = await databases.CreateDbContextAsync(ct);
        var query = db.Set<BidRecord>().AsNoTracking();
        if (agentId is not null) query = query.Where(b => b.AgentId == agentId);
        if (cycle is not null) query = query.Where(b => b.Cycle == cycle);
        if (wanted is not null) query = query.Where(b => b.Status == wanted);
        var total = await query.CountAsync(ct);
        var rows = await query.OrderByDescending(b => b.Cycle).ThenByDescending(b => b.Id).Skip(skip).Take(take).ToListAsync(ct);
        return TypedResults.Ok(new OperatorBidPage(skip, take, total, rows.Select(b => b.ToWire()).ToList()));
    }

    private static async Task<Results<Ok<OperatorTransferPage>, ProblemHttpResult>> ListTransfers(IDbContextFactory<CyAgentsDbContext> databases,
        IOptions<SystemApiOptions> options, CancellationToken ct, string? account = null, string? kind = null, long? cycle = null,
        int skip = 0, int take = 50)
    {
        var errors = PagingErrors(skip, take, options.Value.MaxPageSize);
        TransferKind? wanted = null;
        if (kind is not null)
        {
            if (Enum.TryParse<TransferKind>(kind, ignoreCase: true, out var k) && Enum.IsDefined(k) && !int.TryParse(kind, out _)) wanted = k;
            else errors["kind"] = [$"must be one of {string.Join(", ", Enum.GetNames<TransferKind>())}"];
        }
        if (cycle is < 0) errors["cycle"] = ["must not be negative"];
        CheckLength(errors, ("account", account));
        if (errors.Count > 0) return Problems.Validation(errors);

        await using var db = await databases.CreateDbContextAsync(ct);
        var query = db.Set<LedgerTransferRecord>().AsNoTracking();
        if (account is not null) query = query.Where(t => t.DebitAccountId == account || t.CreditAccountId == account);
        if (wanted is not null) query = query.Where(t => t.Kind == wanted);
        if (cycle is not null) query = query.Where(t => t.Cycle == cycle);
        var total = await query.CountAsync(ct);
        var rows = await query.OrderByDescending(t => t.Sequence).Skip(skip).Take(take).ToListAsync(ct);
        return TypedResults.Ok(new OperatorTransferPage(skip, take, total, rows.Select(t => new TransactionDto(t.Id, t.Sequence, t.Kind.ToString(),
            t.State.ToString(), t.DebitAccountId, t.CreditAccountId, t.Amount, t.Cycle, t.Memo, t.PendingId, t.PostedAmount)).ToList()));
    }

    /// <summary>Agents with their accounts' balances, read in one query for the page (an agent without an account shows zeros).</summary>
    private static async Task<List<AgentSummary>> SummariesAsync(CyAgentsDbContext db, List<AgentRecord> agents, CancellationToken ct)
    {
        var ids = agents.Select(a => AccountIds.ForAgent(a.Id)).ToList();
        var accounts = await db.Set<LedgerAccountRecord>().AsNoTracking().Where(x => ids.Contains(x.Id)).ToDictionaryAsync(x => x.Id, ct);
        return agents.Select(a =>
        {
            accounts.TryGetValue(AccountIds.ForAgent(a.Id), out var account);
            var posted = account?.Posted ?? 0;
            var reserved = account?.Reserved ?? 0;
            return new AgentSummary(a.Id, a.Name, a.ParentId, a.RootId, a.Generation, a.CreatedCycle, a.Status.ToString(), posted, reserved, posted - reserved);
        }).ToList();
    }

    /// <summary>The execution's last output lines, from its <c>execution.output</c> events (the agent's index keeps this cheap).</summary>
    private static async Task<IReadOnlyList<OutputLine>> OutputTailAsync(CyAgentsDbContext db, ExecutionRecord e, CancellationToken ct)
    {
        var marker = $"\"executionId\":{System.Text.Json.JsonSerializer.Serialize(e.Id)}";
        var rows = await db.Set<EventRecord>().AsNoTracking()
            .Where(x => x.AgentId == e.AgentId && x.Type == EventTypes.ExecutionOutput && x.Cycle == e.Cycle && x.Data.Contains(marker))
            .OrderByDescending(x => x.Seq).Take(DetailOutputLines).ToListAsync(ct);
        rows.Reverse();
        return rows.Select(x =>
        {
            using var json = System.Text.Json.JsonDocument.Parse(x.Data);
            var root = json.RootElement;
            return new OutputLine(x.Seq, root.TryGetProperty("stream", out var s) ? s.GetString() ?? "" : "",
                root.TryGetProperty("line", out var l) ? l.GetString() ?? "" : "");
        }).ToList();
    }

    private static LlmCallResponse ToWire(LlmCallRecord c) => new(c.Id, c.ExecutionId, c.AgentId, c.Cycle, c.Model, c.Provider, c.Route,
        c.Stream, c.PromptTokens, c.CompletionTokens, c.ReservedTokens, c.ChargedTokens, c.Attempts, c.LatencyMs, c.Outcome.ToString(), c.Error,
        c.StartedAt);

    private static Dictionary<string, string[]> PagingErrors(int skip, int take, int max)
    {
        var errors = new Dictionary<string, string[]>();
        if (skip < 0) errors["skip"] = ["must not be negative"];
        if (take < 1 || take > max) errors["take"] = [$"must be between 1 and {max}"];
        return errors;
    }

    private static void CheckLength(Dictionary<string, string[]> errors, params (string Name, string? Value)[] filters)
    {
        foreach (var (name, value) in filters)
            if (value is { Length: > MaxFilterLength }) errors[name] = [$"must be at most {MaxFilterLength} characters"];
    }
}
