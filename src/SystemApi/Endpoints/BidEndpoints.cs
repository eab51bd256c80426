using System.Security.Claims;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Bids;
using CyAgents.Economy.Clearing;
using CyAgents.Persistence;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using CyAgents.SystemApi.Market;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// Bids for the next cycle. Placing one escrows its amount at once (a pending ledger transfer agent → escrow, id
/// <c>bid:&lt;bidId&gt;:escrow</c>) in the same transaction as the bid row; cancelling voids that escrow.
/// </summary>
internal static class BidEndpoints
{
    private static readonly ContractsJsonContext Json = ContractsJsonContext.Default;
    private const string LogCategory = "CyAgents.SystemApi.Bids";

    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(ApiRoutes.Bids).WithTags("Bids").RequiresToken(Caller.AgentPolicy);
        group.MapPost("", PlaceBid).WithName("PlaceBid")
            .WithSummary("Place a bid for the next cycle; the amount is escrowed at once")
            .WithDescription("All-or-nothing bid for a bundle. Accepts Idempotency-Key. Refusals: validation (400; also a bundle below SystemApi:MinBidCpuMillicores / MinBidMemoryMiB), insufficient_funds (402), forbidden (403, a retired agent), unsupported_media_type (415), bundle_exceeds_supply (422).")
            .Refuses(400, 402, 403, 409, 413, 415, 422);
        group.MapGet("", ListBids).WithName("ListBids").WithSummary("Own bids, newest first (filters: cycle, status)").Refuses(400);
        group.MapGet("/{bidId}", GetBid).WithName("GetBid").WithSummary("One own bid").Refuses(404);
        group.MapPost("/{bidId}/cancel", CancelBid).WithName("CancelBid")
            .WithSummary("Cancel an own open bid; its escrow is voided")
            .WithDescription("Only Open bids can be cancelled (409 otherwise). Accepts Idempotency-Key.")
            .Refuses(400, 404, 409);
    }

    private static async Task<Results<Created<BidResponse>, ProblemHttpResult>> PlaceBid(PlaceBidRequest request, ClaimsPrincipal user,
        HttpContext http, IdempotentWrites writes, MarketView market, IOptions<SystemApiOptions> options, ILoggerFactory logs)
    {
        var caller = Caller.From(user);
        if (Validate(request, options.Value) is { } invalid) return invalid;
        var bundle = request.Bundle!.ToBundle();
        // Supply changes only when a cycle settles: checking against the cached snapshot keeps the write short.
        var supply = await market.CachedSupplyAsync(http.RequestAborted);
        var bidId = NewBidId();
        if (ClearingValidation.Check(new Bid(bidId, caller.AgentId!, bundle, request.Amount), supply) is { } tooLarge)
            return Problems.Result(StatusCodes.Status422UnprocessableEntity, ErrorCodes.BundleExceedsSupply, tooLarge);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.PlaceBidRequest);
        var outcome = await writes.RunAsync(http, caller, body, Json.BidResponse, StatusCodes.Status201Created, async w =>
        {
            var ct = w.Ct;
            if (await AgentStanding.RetiredAsync(w.Db, caller.AgentId!, "bid", ct) is { } retired) return retired;
            var cycle = await MarketView.NextCycleAsync(w.Db, ct);
            var bid = await new BidBook(w.Db, w.Ledger).PlaceAsync(new BidPlacement(bidId, caller.AgentId!, cycle, bundle, request.Amount, w.Now), ct);
            return bid.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var placed = outcome.Value!;
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Bid {BidId} placed for cycle {BidCycle}: {Amount} credits escrowed for {Bundle}",
                placed.Id, placed.Cycle, placed.Amount, bundle.ToString());
        return TypedResults.Created(ApiRoutes.Bid(placed.Id), placed);
    }

    private static async Task<Results<Ok<BidList>, ProblemHttpResult>> ListBids(ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct, long? cycle = null, string? status = null)
    {
        var caller = Caller.From(user);
        BidStatus? wanted = null;
        if (status is not null)
        {
            if (!Enum.TryParse<BidStatus>(status, ignoreCase: true, out var s) || !Enum.IsDefined(s))
                return Problems.Validation("status", "must be one of Open, Frozen, Won, Lost, Cancelled");
            wanted = s;
        }
        await using var db = await databases.CreateDbContextAsync(ct);
        var query = db.Set<BidRecord>().AsNoTracking().Where(b => b.AgentId == caller.AgentId);
        if (cycle is not null) query = query.Where(b => b.Cycle == cycle);
        if (wanted is not null) query = query.Where(b => b.Status == wanted);
        // Bid ids are time-ordered (UUIDv7), so ordering by id is ordering by placement.
        var rows = await query.OrderByDescending(b => b.Id).Take(500).ToListAsync(ct);
        return TypedResults.Ok(new BidList(rows.Select(b => b.ToWire()).ToList()));
    }

    private static async Task<Results<Ok<BidResponse>, ProblemHttpResult>> GetBid(string bidId, ClaimsPrincipal user,
        IDbContextFactory<CyAgentsDbContext> databases, CancellationToken ct)
    {
        var caller = Caller.From(user);
        await using var db = await databases.CreateDbContextAsync(ct);
        var bid = await db.Set<BidRecord>().AsNoTracking().FirstOrDefaultAsync(b => b.Id == bidId && b.AgentId == caller.AgentId, ct);
        return bid is null ? Problems.NotFound($"no bid '{bidId}' of yours") : TypedResults.Ok(bid.ToWire());
    }

    private static async Task<Results<Ok<BidResponse>, ProblemHttpResult>> CancelBid(string bidId, ClaimsPrincipal user,
        HttpContext http, IdempotentWrites writes, ILoggerFactory logs)
    {
        var caller = Caller.From(user);
        var outcome = await writes.RunAsync(http, caller, ReadOnlyMemory<byte>.Empty, Json.BidResponse, StatusCodes.Status200OK, async w =>
        {
            var ct = w.Ct;
            // Another agent's bid is reported as missing: its existence is none of the caller's business.
            var bid = await w.Db.Set<BidRecord>().FirstOrDefaultAsync(b => b.Id == bidId && b.AgentId == caller.AgentId, ct);
            if (bid is null) return Refusal.NotFound($"no bid '{bidId}' of yours");
            if (!BidLifecycle.CanMove(bid.Status, BidStatus.Cancelled))
                return Refusal.Conflict($"bid '{bidId}' is {bid.Status}; only Open bids can be cancelled");
            await new BidBook(w.Db, w.Ledger).CancelAsync(bid, ct);
            return bid.ToWire();
        });
        if (outcome.Problem is not null) return outcome.Problem;
        if (!outcome.Replayed)
            logs.CreateLogger(LogCategory).LogInformation("Bid {BidId} cancelled; escrow {EscrowTransferId} voided", bidId, outcome.Value!.EscrowTransferId);
        return TypedResults.Ok(outcome.Value!);
    }

    private static ProblemHttpResult? Validate(PlaceBidRequest request, SystemApiOptions rules)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Bundle is not { } b)
            errors["bundle"] = ["is required"];
        else
        {
            void NonNegative(string field, long value)
            {
                if (value < 0) errors["bundle." + field] = ["must not be negative"];
            }
            NonNegative("cpuMillicores", b.CpuMillicores);
            NonNegative("memoryMiB", b.MemoryMiB);
            NonNegative("tokens", b.Tokens);
            NonNegative("attentionBasisPoints", b.AttentionBasisPoints);
            // Every winning bundle runs a container capped by it, and the engine reads a cap of 0 as "no limit".
            if (b.CpuMillicores >= 0 && b.CpuMillicores < rules.MinBidCpuMillicores)
                errors["bundle.cpuMillicores"] = [$"must be at least {rules.MinBidCpuMillicores} (a bundle runs a container capped by it)"];
            if (b.MemoryMiB >= 0 && b.MemoryMiB < rules.MinBidMemoryMiB)
                errors["bundle.memoryMiB"] = [$"must be at least {rules.MinBidMemoryMiB} (a bundle runs a container capped by it)"];
        }
        if (request.Amount <= 0) errors["amount"] = ["must be a positive number of credits"];
        else if (request.Amount > ClearingValidation.MaxAmount) errors["amount"] = [$"must be at most {ClearingValidation.MaxAmount}"];
        return errors.Count == 0 ? null : Problems.Validation(errors);
    }

    private static string NewBidId() => "bid-" + Guid.CreateVersion7().ToString("N");
}
