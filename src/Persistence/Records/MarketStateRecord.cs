using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>Market state of one resource kind after one cycle; the rows over cycles are the price history.</summary>
public sealed class MarketStateRecord
{
    /// <summary>The cycle.</summary>
    public long Cycle { get; set; }
    /// <summary>The resource kind.</summary>
    public ResourceKind Kind { get; set; }
    /// <summary>Units on offer that cycle.</summary>
    public long Supply { get; set; }
    /// <summary>Units asked for by all bids.</summary>
    public long Demand { get; set; }
    /// <summary>Units granted.</summary>
    public long Allocated { get; set; }
    /// <summary>Allocated over supply.</summary>
    public double Utilization { get; set; }
    /// <summary>Price per unit in force during the cycle (credits).</summary>
    public double Price { get; set; }
    /// <summary>Price per unit set for the next cycle by the pricing rule.</summary>
    public double NextPrice { get; set; }
}

internal sealed class MarketStateRecordConfiguration : IEntityTypeConfiguration<MarketStateRecord>
{
    public void Configure(EntityTypeBuilder<MarketStateRecord> b)
    {
        b.ToTable("market_states");
        b.HasKey(x => new { x.Cycle, x.Kind });
    }
}

/// <summary>The one mapping between <see cref="MarketState"/> and its rows, both ways.</summary>
public static class MarketStateRecords
{
    /// <summary>The rows persisted for this cycle.</summary>
    public static IReadOnlyList<MarketStateRecord> ToRecords(this MarketState state) => state.Kinds.Select(s => new MarketStateRecord
    {
        Cycle = state.Cycle,
        Kind = s.Kind,
        Supply = s.Supply,
        Demand = s.Demand,
        Allocated = s.Allocated,
        Utilization = s.Utilization,
        Price = s.Price,
        NextPrice = s.NextPrice,
    }).ToArray();

    /// <summary>Rebuilds a cycle's state from its persisted rows (one per kind).</summary>
    public static MarketState ToMarketState(this IEnumerable<MarketStateRecord> records)
    {
        var rows = records.OrderBy(r => r.Kind).ToArray();
        if (rows.Length != ResourceKinds.Count || rows.Select(r => r.Cycle).Distinct().Count() != 1)
            throw new ArgumentException("a market state needs exactly one row per resource kind, all of one cycle", nameof(records));
        return new MarketState(rows[0].Cycle,
            rows.Select(r => new ResourceMarketState(r.Kind, r.Supply, r.Demand, r.Allocated, r.Price, r.NextPrice)).ToArray());
    }
}
