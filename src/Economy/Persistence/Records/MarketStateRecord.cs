using CyAgents.Economy.Resources;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Economy.Persistence.Records;

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
