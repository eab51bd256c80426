namespace CyAgents.SystemApi.Workspaces.History;

/// <summary>Workspace history (configuration section <c>History</c>, ADR 0108): where the per-agent git repositories live and how much one snapshot may hold.</summary>
public sealed class HistoryOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "History";

    /// <summary>
    /// Folder of the per-agent git directories (<c>&lt;root&gt;/&lt;agent-id&gt;.git</c>); the live host sets it to
    /// <c>&lt;data&gt;/history</c>, outside every workspace. Empty: no history.
    /// </summary>
    public string Root { get; set; } = "";

    /// <summary>The git program (Debian's <c>git</c> package).</summary>
    public string Git { get; set; } = "git";

    /// <summary>File bytes one snapshot records; files beyond it are left out and the commit says so.</summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Files, links and folders one snapshot walks; beyond it the walk stops and the commit says so.</summary>
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>Folder nesting a snapshot descends into; deeper folders are left out and the commit says so.</summary>
    public int MaxDepth { get; set; } = 32;

    /// <summary>How long one git process may run before it is killed.</summary>
    public TimeSpan GitTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The problems with these settings, one line each, naming the key.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxBytes < 0) yield return $"{Section}:MaxBytes must not be negative (got {MaxBytes})";
        if (MaxEntries < 1) yield return $"{Section}:MaxEntries must be at least 1 (got {MaxEntries})";
        if (MaxDepth < 1) yield return $"{Section}:MaxDepth must be at least 1 (got {MaxDepth})";
        if (GitTimeout <= TimeSpan.Zero) yield return $"{Section}:GitTimeout must be positive (got {GitTimeout})";
        if (string.IsNullOrWhiteSpace(Git)) yield return $"{Section}:Git must name the git program";
    }
}
