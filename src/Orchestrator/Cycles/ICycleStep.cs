using CyAgents.Persistence.Records;

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

    /// <summary>
    /// After settlement committed, before the winners launch: <paramref name="executions"/> are the cycle's execution records
    /// (those that will run are <see cref="ExecutionStatus.Pending"/>). Work that may take long should start here and be
    /// awaited in <see cref="AfterExecutionsAsync"/>, so the winners are not kept waiting. Most steps need nothing here.
    /// </summary>
    Task AfterSettlementAsync(long cycle, IReadOnlyList<ExecutionRecord> executions, CancellationToken ct) => Task.CompletedTask;

    /// <summary>After the cycle's executions ended and host faults were repaired, before the conservation check.</summary>
    Task AfterExecutionsAsync(long cycle, CancellationToken ct);
}
