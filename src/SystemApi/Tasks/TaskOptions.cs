using CyAgents.SystemApi.Workspaces;

namespace CyAgents.SystemApi.Tasks;

/// <summary>Tasks (configuration section <c>Tasks</c>, ADR 0132): where submissions are kept, their limits, the verifier's caps.</summary>
public sealed class TaskOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Tasks";

    /// <summary>Host folder of submission copies, one folder per submission; no sandbox mounts it except a verifier, read-only.</summary>
    public string SubmissionsRoot { get; set; } = "data/submissions";
    /// <summary>Largest reward one task may carry.</summary>
    public long MaxReward { get; set; } = 1_000_000;
    /// <summary>Submissions one agent may make to one task (a failed one counts).</summary>
    public int MaxSubmissionsPerAgent { get; set; } = 3;
    /// <summary>Submissions one agent may have waiting for a verdict, over all tasks (bounds the disk a backlog holds).</summary>
    public int MaxPendingPerAgent { get; set; } = 4;
    /// <summary>Bytes one submission may copy.</summary>
    public long MaxSubmissionBytes { get; set; } = 16L * 1024 * 1024;
    /// <summary>Files and folders one submission may copy.</summary>
    public int MaxSubmissionEntries { get; set; } = 1_000;
    /// <summary>CPU of a verifier's sandbox, millicores.</summary>
    public long VerifierCpuMillicores { get; set; } = 500;
    /// <summary>Memory of a verifier's sandbox, MiB.</summary>
    public long VerifierMemoryMiB { get; set; } = 256;
    /// <summary>How long a verifier may run before it is killed (and the submission fails).</summary>
    public int VerifierTimeoutSeconds { get; set; } = 20;
    /// <summary>Verifications run per cycle step; the rest wait for the next (host compute spent on verification is bounded).</summary>
    public int MaxVerificationsPerStep { get; set; } = 8;

    /// <summary>The copy limits of one submission.</summary>
    public TreeLimits SubmissionLimits => new(MaxSubmissionEntries, MaxSubmissionBytes, MaxDepth: 16);

    /// <summary>What is wrong, each message starting with its key below <c>Tasks</c>; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(SubmissionsRoot)) errors.Add("SubmissionsRoot must not be empty");
        if (MaxReward < 1) errors.Add($"MaxReward must be at least 1 (got {MaxReward})");
        if (MaxSubmissionsPerAgent < 1) errors.Add($"MaxSubmissionsPerAgent must be at least 1 (got {MaxSubmissionsPerAgent})");
        if (MaxPendingPerAgent < 1) errors.Add($"MaxPendingPerAgent must be at least 1 (got {MaxPendingPerAgent})");
        if (MaxSubmissionBytes < 1) errors.Add($"MaxSubmissionBytes must be at least 1 (got {MaxSubmissionBytes})");
        if (MaxSubmissionEntries < 1) errors.Add($"MaxSubmissionEntries must be at least 1 (got {MaxSubmissionEntries})");
        if (VerifierCpuMillicores < 10) errors.Add($"VerifierCpuMillicores must be at least 10 (got {VerifierCpuMillicores})");
        if (VerifierMemoryMiB < 16) errors.Add($"VerifierMemoryMiB must be at least 16 (got {VerifierMemoryMiB})");
        if (VerifierTimeoutSeconds is < 1 or > 600) errors.Add($"VerifierTimeoutSeconds must be between 1 and 600 (got {VerifierTimeoutSeconds})");
        if (MaxVerificationsPerStep < 1) errors.Add($"MaxVerificationsPerStep must be at least 1 (got {MaxVerificationsPerStep})");
        return errors;
    }
}
