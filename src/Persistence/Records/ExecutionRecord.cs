using CyAgents.Economy.Resources;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>One run of a winning agent in its sandbox.</summary>
public sealed class ExecutionRecord
{
    /// <summary>Execution id (also on the container's labels and in env.json).</summary>
    public required string Id { get; set; }
    /// <summary>The agent that ran.</summary>
    public required string AgentId { get; set; }
    /// <summary>The cycle it won.</summary>
    public long Cycle { get; set; }
    /// <summary>The winning bid.</summary>
    public string? BidId { get; set; }
    /// <summary>Outcome.</summary>
    public ExecutionStatus Status { get; set; } = ExecutionStatus.Pending;
    /// <summary>Docker container id, once created.</summary>
    public string? ContainerId { get; set; }
    /// <summary>Process exit code, when it exited.</summary>
    public int? ExitCode { get; set; }
    // The granted bundle's columns (today's names and order): private so the bundle is read and written as one value.
    private long CpuMillicores { get; set; }
    private long MemoryMiB { get; set; }
    private long Tokens { get; set; }
    private long AttentionBasisPoints { get; set; }
    /// <summary>The bundle won: the container's caps (CPU, memory) and the LLM tokens the proxy meters against.</summary>
    public ResourceBundle Granted
    {
        get => ResourceBundle.Create(CpuMillicores, MemoryMiB, Tokens, AttentionBasisPoints);
        set => (CpuMillicores, MemoryMiB, Tokens, AttentionBasisPoints) =
            (value.CpuMillicores, value.MemoryMiB, value.Tokens, value.AttentionBasisPoints);
    }
    /// <summary>LLM tokens used through the proxy.</summary>
    public long TokensUsed { get; set; }
    /// <summary>Peak memory in bytes, where the engine reports it.</summary>
    public long? PeakMemoryBytes { get; set; }
    /// <summary>CPU time used in nanoseconds, where the engine reports it.</summary>
    public long? CpuTimeNanos { get; set; }
    /// <summary>When the container was started.</summary>
    public DateTimeOffset? StartedAt { get; set; }
    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; set; }
    /// <summary>The execution window's end.</summary>
    public DateTimeOffset? Deadline { get; set; }
    /// <summary>Why it failed to launch or was abandoned.</summary>
    public string? Error { get; set; }
}

/// <summary>Outcome of an execution.</summary>
public enum ExecutionStatus
{
    /// <summary>Chosen, not started.</summary>
    Pending = 0,
    /// <summary>Container running.</summary>
    Running = 1,
    /// <summary>Exited 0.</summary>
    Succeeded = 2,
    /// <summary>Exited non-zero.</summary>
    Failed = 3,
    /// <summary>Killed by the kernel for exceeding its memory cap.</summary>
    OOMKilled = 4,
    /// <summary>Ran past its window and was killed.</summary>
    TimedOut = 5,
    /// <summary>Could not be created or started.</summary>
    LaunchFailed = 6,
    /// <summary>Left running by an orchestrator that died; found and cleaned at the next start.</summary>
    Abandoned = 7,
    /// <summary>Ended by the host, not the agent: the engine went away or restarted while it ran (ADR 0085).</summary>
    HostFault = 8,
    /// <summary>Filled its workspace quota (bytes or files) and was stopped (ADR 0073).</summary>
    QuotaExceeded = 9,
    /// <summary>
    /// Not run: another winning bid of the same agent runs in this cycle (one execution per agent per cycle, ADR 0075); its
    /// payment is refunded from the treasury.
    /// </summary>
    Superseded = 10,
    /// <summary>
    /// A service's window ended with its container still running, kept as a lease for its agent's next win (ADR 0137). When
    /// the agent wins the next cycle this record stays Leased and the next execution runs in the same container; when it
    /// loses, this record becomes <see cref="Preempted"/>.
    /// </summary>
    Leased = 11,
    /// <summary>
    /// A service's lease was ended by the host between windows — its agent lost the next cycle, its next bundle could not be
    /// applied in place, or the orchestrator stopped: SIGTERM, then SIGKILL after the grace. Its windows were served; no refund.
    /// </summary>
    Preempted = 12,
}

/// <summary>Which execution outcomes are the host's fault rather than the agent's (ADR 0085).</summary>
public static class ExecutionStatuses
{
    /// <summary>
    /// True when the host ended the execution (launch failed, abandoned by a stopped or crashed orchestrator, engine lost):
    /// the agent is refunded what it paid for the window and given a re-entry bid, so a host fault never ends its life.
    /// </summary>
    public static bool IsHostFault(this ExecutionStatus status) =>
        status is ExecutionStatus.LaunchFailed or ExecutionStatus.Abandoned or ExecutionStatus.HostFault;
}

internal sealed class ExecutionRecordConfiguration : IEntityTypeConfiguration<ExecutionRecord>
{
    public void Configure(EntityTypeBuilder<ExecutionRecord> b)
    {
        b.ToTable("executions");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasMaxLength(64);
        b.Property(x => x.AgentId).HasMaxLength(64);
        b.Property(x => x.BidId).HasMaxLength(64);
        b.Property(x => x.ContainerId).HasMaxLength(80);
        b.Property(x => x.Error).HasMaxLength(2000);
        b.Ignore(x => x.Granted);
        BundleColumns.Map(b);
        b.HasIndex(x => x.Cycle);
        b.HasIndex(x => x.AgentId);
    }
}
