using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces;
using CyAgents.SystemApi.Workspaces.History;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Workspaces;

/// <summary>
/// The cycle's one call into workspace history (ADR 0108): after an execution's outcome is recorded, its workspace becomes
/// a commit in the agent's history. A history failure is logged and never fails the execution or the cycle — the economy
/// does not depend on its audit copy. Off when git is missing or history is not configured (said once, at start).
/// </summary>
public sealed class ExecutionHistory(WorkspaceHistory history, AgentWorkspaces workspaces, IDbContextFactory<CyAgentsDbContext> databases,
    ILogger<ExecutionHistory> logger)
{
    private bool? _enabled;

    /// <summary>False when history is not configured or git cannot be started; decided by <see cref="StartAsync"/>.</summary>
    public bool Enabled => _enabled ?? history.Root is not null;

    /// <summary>
    /// Checks once that git can be started; without it history is off and the one returned line says how to get it
    /// (<c>run</c> goes on without history: the economy does not need it). Null when history is on or not configured.
    /// </summary>
    public async Task<string?> StartAsync(CancellationToken ct)
    {
        if (history.Root is null)
        {
            _enabled = false;
            return null;
        }
        var version = await history.GitVersionAsync(ct);
        _enabled = version is not null;
        if (version is not null)
        {
            logger.LogInformation("Workspace history in {Root} ({Git})", history.Root, version);
            return null;
        }
        var line = $"workspace history is off: '{history.Options.Git}' cannot be started; install git (apt-get install git) and restart run to record it";
        logger.LogWarning("{Problem}", line);
        return line;
    }

    /// <summary>Records the workspace of <paramref name="execution"/> as its commit; logs and swallows any failure.</summary>
    public async Task RecordAsync(ExecutionRecord execution, CancellationToken ct = default)
    {
        if (!Enabled) return;
        try
        {
            var workspace = workspaces.PathOf(execution.AgentId);
            if (WorkspaceFiles.Entry(workspace) is not DirectoryInfo { LinkTarget: null })
            {
                logger.LogInformation("Execution {ExecutionId} of {AgentId} left no workspace to record", execution.Id, execution.AgentId);
                return;
            }
            // With a quota the workspace is its own file system, mounted until the run ends; an unmounted one is an empty
            // mount point (a launch that failed before mounting), and recording it would show every file deleted.
            if (workspaces.Quota is not null && !WorkspaceQuota.IsMountPoint(workspace))
            {
                logger.LogInformation("Execution {ExecutionId} of {AgentId}: workspace not mounted, no snapshot", execution.Id, execution.AgentId);
                return;
            }
            AgentLineage? lineage;
            await using (var db = await databases.CreateDbContextAsync(ct))
                lineage = await db.Set<AgentRecord>().Where(a => a.Id == execution.AgentId && a.ParentId != null)
                    .Select(a => new AgentLineage(a.ParentId!, a.CreatedCycle)).FirstOrDefaultAsync(ct);
            var at = execution.EndedAt ?? execution.StartedAt ?? DateTimeOffset.UnixEpoch;
            var commit = await history.RecordAsync(
                new ExecutionSnapshot(execution.AgentId, execution.Id, execution.Cycle, execution.Status.ToString(), execution.ExitCode, at),
                workspace, lineage, ct);
            if (commit.Summary is { } s)
                logger.LogInformation(
                    "Workspace of {AgentId} recorded as {Commit} for execution {ExecutionId}: {Files} files, {Links} links, {Bytes} bytes{Truncated}",
                    execution.AgentId, commit.Commit[..12], execution.Id, s.Files, s.Links, s.Bytes, s.Truncated ? " (truncated)" : "");
        }
        catch (Exception e)
        {
            logger.LogWarning("Workspace history of {AgentId} not recorded for execution {ExecutionId}: {Error}",
                execution.AgentId, execution.Id, e.Message);
        }
    }
}
