namespace CyAgents.SystemApi.Workspaces;

/// <summary>
/// The workspace of an agent that an idempotent write creates (a spawn, the operator's create): staged during the write,
/// moved into place only after the write commits, and removed whenever it is not (a refusal, a replay, a failure). The
/// writer may run the write again (ADR 0084), so each attempt first drops the copy of the attempt before.
/// </summary>
internal sealed class NewAgentWorkspace : IDisposable
{
    private WorkspaceTemplate.Staged? _staged;

    /// <summary>Where the workspace goes once moved into place; null while nothing is staged.</summary>
    public string? FinalPath => _staged?.FinalPath;

    /// <summary>Removes the copy an earlier attempt staged: call at the start of each attempt, before staging again.</summary>
    public void Drop()
    {
        _staged?.Dispose();
        _staged = null;
    }

    /// <summary>Holds this attempt's staged copy (dropping any other).</summary>
    public void Hold(WorkspaceTemplate.Staged staged)
    {
        Drop();
        _staged = staged;
    }

    /// <summary>
    /// After the commit: moves the copy into place. A failure does not undo the write (credits moved, the record is written):
    /// the orchestrator creates the missing workspace at the agent's first execution (AgentWorkspaces.Prepare), so it is a warning.
    /// </summary>
    public void MoveIntoPlace(ILogger log, string agentId)
    {
        try
        {
            _staged?.Commit();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("Workspace of {AgentId} could not be moved into place ({Error}); it is created at its first execution", agentId, e.Message);
        }
    }

    /// <summary>Removes the staged copy unless it was moved into place.</summary>
    public void Dispose() => _staged?.Dispose();
}
