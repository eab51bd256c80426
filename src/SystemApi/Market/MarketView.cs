using CyAgents.Contracts;
using CyAgents.Economy.Market;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Market;

/// <summary>
/// What agents see of the market: the last recorded <see cref="MarketStateRecord"/> rows, or the host's <see cref="CycleSupply"/> and
/// initial prices before the first cycle. Prices change only when a cycle settles, so the snapshot is cached for a short while.
/// </summary>
public sealed class MarketView(IDbContextFactory<CyAgentsDbContext> databases, CycleSupply supply,
    IOptions<PricingOptions> pricing, IOptions<SystemApiOptions> api, TimeProvider clock)
{
    private sealed record Cached(MarketPricesResponse Value, long ExpiresAtTicks);
    private volatile Cached? _cached;

    /// <summary>Prices, supply and utilization for the next cycle (cached for <c>SystemApi:MarketCacheMilliseconds</c>).</summary>
    public async ValueTask<MarketPricesResponse> GetPricesAsync(CancellationToken ct)
    {
        var now = clock.GetTimestamp();
        if (_cached is { } c && now < c.ExpiresAtTicks) return c.Value;
        await using var db = await databases.CreateDbContextAsync(ct);
        var latest = await LatestStatesAsync(db, ct);
        var next = await NextCycleAsync(db, ct);
        var defaultSupply = supply.PerCycle;
        var resources = ResourceKinds.All.Select(kind =>
        {
            var row = latest.FirstOrDefault(r => r.Kind == kind);
            return row is null
                ? new ResourceMarketDto(kind.WireName(), kind.Unit(), pricing.Value.InitialPrices[kind], defaultSupply[kind], 0)
                : new ResourceMarketDto(kind.WireName(), kind.Unit(), row.NextPrice, row.Supply, row.Utilization);
        }).ToList();
        var value = new MarketPricesResponse(latest.Count == 0 ? null : latest[0].Cycle, next, resources);
        _cached = new Cached(value, now + api.Value.MarketCacheMilliseconds * clock.TimestampFrequency / 1000);
        return value;
    }

    /// <summary>Drops the cached snapshot (the orchestrator may call this after settling a cycle).</summary>
    public void Invalidate() => _cached = null;

    /// <summary>Market state rows of the last <paramref name="cycles"/> recorded cycles, oldest first.</summary>
    public async Task<MarketHistoryResponse> GetHistoryAsync(int cycles, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        var states = db.Set<MarketStateRecord>().AsNoTracking();
        var recent = await states.Select(s => s.Cycle).Distinct().OrderByDescending(c => c).Take(cycles).ToListAsync(ct);
        var from = recent.Count == 0 ? long.MaxValue : recent.Min();
        var rows = await states.Where(s => s.Cycle >= from).OrderBy(s => s.Cycle).ThenBy(s => s.Kind).ToListAsync(ct);
        return new MarketHistoryResponse(cycles, rows.Select(r => new MarketHistoryEntryDto(r.Cycle, r.Kind.WireName(), r.Price,
            r.NextPrice, r.Supply, r.Demand, r.Allocated, r.Utilization)).ToList());
    }

    /// <summary>The supply of the next cycle from the cached snapshot (bids are checked against it before any write).</summary>
    public async ValueTask<ResourceBundle> CachedSupplyAsync(CancellationToken ct)
    {
        var r = (await GetPricesAsync(ct)).Resources;
        return ResourceBundle.Create(r[0].Supply, r[1].Supply, r[2].Supply, r[3].Supply);
    }

    /// <summary>
    /// The cycle a bid placed now is for: the open cycle if there is one, else the one after the latest (1 at first).
    /// Read inside the bid's transaction, so it cannot race with the orchestrator freezing a cycle.
    /// </summary>
    public static async Task<long> NextCycleAsync(CyAgentsDbContext db, CancellationToken ct)
    {
        var latest = await db.Set<CycleRecord>().AsNoTracking().OrderByDescending(c => c.Number)
            .Select(c => new { c.Number, c.Status }).FirstOrDefaultAsync(ct);
        return latest is null ? 1 : latest.Status == CycleStatus.Open ? latest.Number : latest.Number + 1;
    }

    /// <summary>The cycle now under way or last finished (0 before the first).</summary>
    public static async Task<long> CurrentCycleAsync(CyAgentsDbContext db, CancellationToken ct) =>
        await db.Set<CycleRecord>().AsNoTracking().MaxAsync(c => (long?)c.Number, ct) ?? 0;

    private static async Task<List<MarketStateRecord>> LatestStatesAsync(CyAgentsDbContext db, CancellationToken ct)
    {
        var states = db.Set<MarketStateRecord>().AsNoTracking();
        var last = await states.MaxAsync(s => (long?)s.Cycle, ct);
        return last is null ? [] : await states.Where(s => s.Cycle == last).OrderBy(s => s.Kind).ToListAsync(ct);
    }
}
