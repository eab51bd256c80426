namespace CyAgents.SystemApi.Workspaces;

/// <summary>
/// What a walk of an agent's tree may still spend (entries and bytes of <see cref="TreeLimits"/>), shared by every walker
/// so the path-based copy and the descriptor-based one refuse at the same limits with the same words.
/// </summary>
internal sealed class TreeBudget(TreeLimits limits)
{
    private int _entries;
    private long _bytes;

    /// <summary>The limits spent against.</summary>
    public TreeLimits Limits { get; } = limits;

    /// <summary>One more entry; beyond the limit the walk stops.</summary>
    public void Count(string path)
    {
        if (++_entries > Limits.MaxEntries)
            throw new UnsafeWorkspaceEntryException($"more than {Limits.MaxEntries} entries (stopped at {path})");
    }

    /// <summary>Regular files counted so far (each <see cref="Add"/> is one).</summary>
    public int Files { get; private set; }

    /// <summary>Bytes counted so far.</summary>
    public long Bytes => _bytes;

    /// <summary>One more file of <paramref name="bytes"/> bytes; beyond the limit the walk stops.</summary>
    public void Add(string path, long bytes)
    {
        Files++;
        _bytes += bytes;
        if (_bytes > Limits.MaxBytes)
            throw new UnsafeWorkspaceEntryException($"more than {Limits.MaxBytes} bytes (stopped at {path})");
    }
}
