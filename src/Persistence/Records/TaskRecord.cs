using CyAgents.Economy.Ledger;
using CyAgents.Economy.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// A task (mission) with an escrowed reward (ADR 0132), table <c>tasks</c>. Written only through
/// <see cref="Tasks.TaskBoard"/>; <see cref="State"/> is a concurrency token, so two writers that both saw the task open
/// cannot both close it.
/// </summary>
public sealed class TaskRecord
{
    /// <summary>Task id (<c>tsk-…</c>, time-ordered).</summary>
    public required string Id { get; set; }
    /// <summary>One line saying what is wanted.</summary>
    public required string Title { get; set; }
    /// <summary>What is wanted in full: what to hand in and where.</summary>
    public string Description { get; set; } = "";
    /// <summary>Credits paid to the winner, escrowed from the poster when posted.</summary>
    public long Reward { get; set; }
    /// <summary>The agent that posted it and pays the reward; null for the operator (the treasury pays).</summary>
    public string? PosterAgentId { get; set; }
    /// <summary>The cycle it was posted in.</summary>
    public long PostedCycle { get; set; }
    /// <summary>The last cycle that takes submissions; before the next one clears, an unawarded reward returns.</summary>
    public long DeadlineCycle { get; set; }
    /// <summary>How submissions are judged.</summary>
    public VerifierKind Verifier { get; set; }
    /// <summary>The runtime the verifier command runs in (e.g. <c>python</c>); null for a human review.</summary>
    public string? VerifierRuntime { get; set; }
    /// <summary>The verifier's argv as a JSON array; null for a human review.</summary>
    public string? VerifierCommandJson { get; set; }
    /// <summary>Open, awarded or expired.</summary>
    public TaskState State { get; set; } = TaskState.Open;
    /// <summary>The submission that won; null until awarded.</summary>
    public string? WinnerSubmissionId { get; set; }
    /// <summary>The agent that won; null until awarded.</summary>
    public string? WinnerAgentId { get; set; }
    /// <summary>The pending ledger transfer holding the reward.</summary>
    public required string EscrowTransferId { get; set; }
    /// <summary>When it was posted.</summary>
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>When it was awarded or expired.</summary>
    public DateTimeOffset? ClosedAt { get; set; }
}

/// <summary>One agent's hand-in for a task (table <c>task_submissions</c>): a copy taken at submit time, then its verdict.</summary>
public sealed class TaskSubmissionRecord
{
    /// <summary>Submission id (<c>sub-…</c>, time-ordered: the order verifications run in).</summary>
    public required string Id { get; set; }
    /// <summary>The task.</summary>
    public required string TaskId { get; set; }
    /// <summary>The submitting agent, paid on a pass.</summary>
    public required string AgentId { get; set; }
    /// <summary>The execution it was submitted from.</summary>
    public string? ExecutionId { get; set; }
    /// <summary>The cycle it was submitted in.</summary>
    public long Cycle { get; set; }
    /// <summary>The path inside the agent's workspace that was copied.</summary>
    public required string Path { get; set; }
    /// <summary>Regular files in the copy.</summary>
    public int Files { get; set; }
    /// <summary>Bytes in the copy.</summary>
    public long Bytes { get; set; }
    /// <summary>Pending, awarded, passed (too late), failed or expired.</summary>
    public SubmissionState State { get; set; } = SubmissionState.Pending;
    /// <summary>The verifier's exit code; null for a human review or a verifier that did not run.</summary>
    public int? ExitCode { get; set; }
    /// <summary>The verdict's detail: the verifier's last output lines, the reviewer's note, or why it did not run.</summary>
    public string? Verdict { get; set; }
    /// <summary>When it was submitted.</summary>
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>When it was judged.</summary>
    public DateTimeOffset? JudgedAt { get; set; }
}

internal sealed class TaskRecordConfiguration : IEntityTypeConfiguration<TaskRecord>
{
    public void Configure(EntityTypeBuilder<TaskRecord> b)
    {
        b.ToTable("tasks");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasMaxLength(64);
        b.Property(x => x.Title).HasMaxLength(TaskRules.MaxTitleLength);
        b.Property(x => x.PosterAgentId).HasMaxLength(64);
        b.Property(x => x.VerifierRuntime).HasMaxLength(32);
        b.Property(x => x.WinnerSubmissionId).HasMaxLength(64);
        b.Property(x => x.WinnerAgentId).HasMaxLength(64);
        b.Property(x => x.EscrowTransferId).HasMaxLength(LedgerRules.MaxIdLength);
        // Closing a task is compare-and-set on its state: of two writers that read it open, the second fails to save.
        b.Property(x => x.State).IsConcurrencyToken();
        b.HasIndex(x => new { x.State, x.DeadlineCycle });
    }
}

internal sealed class TaskSubmissionRecordConfiguration : IEntityTypeConfiguration<TaskSubmissionRecord>
{
    public void Configure(EntityTypeBuilder<TaskSubmissionRecord> b)
    {
        b.ToTable("task_submissions");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasMaxLength(64);
        b.Property(x => x.TaskId).HasMaxLength(64);
        b.Property(x => x.AgentId).HasMaxLength(64);
        b.Property(x => x.ExecutionId).HasMaxLength(64);
        b.Property(x => x.Path).HasMaxLength(1024);
        b.Property(x => x.Verdict).HasMaxLength(4096);
        b.HasIndex(x => new { x.TaskId, x.AgentId });
        b.HasIndex(x => x.State);
    }
}
