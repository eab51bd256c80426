namespace CyAgents.Contracts;

/// <summary>How one execution changed the workspace, against the commit before it (sizes are file sizes, not lines).</summary>
/// <param name="Added">Files (and links) that appeared.</param>
/// <param name="Modified">Files whose content or mode changed.</param>
/// <param name="Deleted">Files that went away (also those a bounded snapshot left out).</param>
/// <param name="BytesAdded">Bytes of added files plus the growth of modified ones.</param>
/// <param name="BytesRemoved">Bytes of deleted files plus the shrinkage of modified ones.</param>
public sealed record WorkspaceDiffDto(int Added, int Modified, int Deleted, long BytesAdded, long BytesRemoved);

/// <summary>One execution's snapshot of the agent's workspace: a commit in the agent's history repository.</summary>
/// <param name="Commit">The commit id (40 hex digits).</param>
/// <param name="Parent">The commit before it (the agent's previous execution, or for a child's first one its parent agent's commit), null for a first root.</param>
/// <param name="ExecutionId">The execution it records.</param>
/// <param name="Cycle">The cycle of that execution.</param>
/// <param name="Status">The execution's outcome (Succeeded, Failed, TimedOut, ...).</param>
/// <param name="ExitCode">The agent's exit code, when it exited.</param>
/// <param name="At">When the execution ended (the commit's timestamp).</param>
/// <param name="Files">Files and links in the snapshot.</param>
/// <param name="Bytes">File bytes in the snapshot.</param>
/// <param name="Truncated">True when a bound (bytes, entries, depth) left files out; <paramref name="Note"/> says which.</param>
/// <param name="Note">What the snapshot skipped or left out (special files, .git entries, bounds), or null.</param>
/// <param name="Diff">The change against <paramref name="Parent"/>.</param>
public sealed record WorkspaceCommitDto(string Commit, string? Parent, string ExecutionId, long Cycle, string Status, int? ExitCode,
    DateTimeOffset At, int Files, long Bytes, bool Truncated, string? Note, WorkspaceDiffDto Diff);

/// <summary>Where a child's history starts: its parent agent's commit.</summary>
/// <param name="AgentId">The parent agent.</param>
/// <param name="Commit">The parent's commit the child's first commit follows.</param>
public sealed record WorkspaceOriginDto(string AgentId, string Commit);

/// <summary>An agent's workspace history, newest execution first (paged: skip, take).</summary>
/// <param name="AgentId">The agent.</param>
/// <param name="Skip">Commits skipped from the newest.</param>
/// <param name="Take">Most commits returned.</param>
/// <param name="Total">The agent's own commits in all.</param>
/// <param name="StartedFrom">For a child, the parent's commit its history starts from; null otherwise.</param>
/// <param name="Items">The commits, newest first.</param>
public sealed record WorkspaceHistoryPage(string AgentId, int Skip, int Take, int Total, WorkspaceOriginDto? StartedFrom,
    IReadOnlyList<WorkspaceCommitDto> Items);
