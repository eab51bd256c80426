using CyAgents.Contracts;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Market;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>Public market data: any token (or none) may read it.</summary>
internal static class MarketEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/market").WithTags("Market").AllowAnonymous();
        group.MapGet("/prices", GetPrices).WithName("GetMarketPrices")
            .WithSummary("Current prices, supply and utilization per resource")
            .WithDescription("Prices in force for the next cycle; before any cycle, the configured Market:* defaults. Cached for about a second.");
        group.MapGet("/history", GetHistory).WithName("GetMarketHistory")
            .WithSummary("Price history for the last N cycles")
            .WithDescription("One entry per cycle and resource kind, oldest first. cycles: 1–1000, default 10.").Refuses(400);
    }

    private static async Task<Ok<MarketPricesResponse>> GetPrices(MarketView market, CancellationToken ct) =>
        TypedResults.Ok(await market.GetPricesAsync(ct));

    private static async Task<Results<Ok<MarketHistoryResponse>, ProblemHttpResult>> GetHistory(MarketView market, CancellationToken ct,
        int cycles = 10)
    {
        if (cycles is < 1 or > 1000) return Problems.Validation("cycles", "must be between 1 and 1000");
        return TypedResults.Ok(await market.GetHistoryAsync(cycles, ct));
    }
}
