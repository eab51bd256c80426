using System.Security.Claims;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>An agent's own balance and transactions. The operator may name any agent with <c>agentId</c>.</summary>
internal static class EconomyEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/economy").WithTags("Economy").RequiresToken(Caller.AnyPolicy);
        group.MapGet("/balance", GetBalance).WithName("GetBalance")
            .WithSummary("Own balance: posted, reserved (escrowed by open bids) and available")
            .WithDescription("Agents read their own account only; agentId naming another agent is forbidden. The operator must pass agentId.")
            .Refuses(400, 404);
        group.MapGet("/transactions", GetTransactions).WithName("GetTransactions")
            .WithSummary("Own ledger transactions, newest first (paged: skip, take)").Refuses(400, 404);
    }

    private static async Task<Results<Ok<BalanceResponse>, ProblemHttpResult>> GetBalance(ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, LedgerBinding ledgers, CancellationToken ct, string? agentId = null)
    {
        var (id, problem) = Resolve(Caller.From(user), agentId);
        if (problem is not null) return problem;
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var ledger = ledgers.Bind(db);
        try
        {
            var b = await ledger.Ledger.GetBalanceAsync(AccountIds.ForAgent(id!), ct);
            return TypedResults.Ok(new BalanceResponse(id!, b.Posted, b.Reserved, b.Available));
        }
        catch (LedgerException e) when (e.Error == LedgerError.UnknownAccount)
        {
            return Problems.NotFound($"agent '{id}' has no account");
        }
    }

    private static async Task<Results<Ok<TransactionPage>, ProblemHttpResult>> GetTransactions(ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, LedgerBinding ledgers, IOptions<SystemApiOptions> options, CancellationToken ct,
        string? agentId = null, int skip = 0, int take = 50)
    {
        var (id, problem) = Resolve(Caller.From(user), agentId);
        if (problem is not null) return problem;
        if (Paging.Check(skip, take, options.Value.MaxPageSize) is { } paging) return paging;
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var ledger = ledgers.Bind(db);
        try
        {
            // An unknown account is 404, as for the balance: asking for it first keeps the answer the same on every ledger.
            await ledger.Ledger.GetBalanceAsync(AccountIds.ForAgent(id!), ct);
            var rows = await ledger.Ledger.GetTransfersAsync(AccountIds.ForAgent(id!), skip, take, ct);
            return TypedResults.Ok(new TransactionPage(skip, take, rows.Select(t => t.ToWire()).ToList()));
        }
        catch (LedgerException e) when (e.Error == LedgerError.UnknownAccount)
        {
            return Problems.NotFound($"agent '{id}' has no account");
        }
    }

    /// <summary>Whose account: the agent's own, or the one the operator names.</summary>
    private static (string? Id, ProblemHttpResult? Problem) Resolve(Caller caller, string? agentId)
    {
        if (caller.IsOperator)
            return agentId is null ? (null, Problems.Validation("agentId", "the operator must name the agent")) : (agentId, null);
        if (agentId is not null && agentId != caller.AgentId)
            return (null, Problems.Forbidden("an agent may read its own account only"));
        return (caller.AgentId, null);
    }
}
