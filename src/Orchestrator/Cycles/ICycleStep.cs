namespace CyAgents.Orchestrator.Cycles;

/// <summary>
/// Per-cycle housekeeping that belongs to one feature (task deadlines, prompt expiry, retirement, leases), run by
/// <see cref="AllocationCycle"/> at two fixed points so features add their step without editing the cycle itself.
/// A step must be idempotent per cycle: a restart may run it again for the same cycle number.
/// </summary>
public interface ICycleStep
{
    /// <summary>Short name for logs.</summary>
    string Name { get; }

    /// <summary>Before the cycle places entry bids and freezes the book: the state bids are cleared against.</summary>
    Task BeforeClearingAsync(long cycle, CancellationToken ct);

    /// <summary>After the cycle's executions ended and host faults were repaired, before the conservation check.</summary>
    Task AfterExecutionsAsync(long cycle, CancellationToken ct);
}
