using CyAgents.SystemApi.Workspaces;

namespace CyAgents.Orchestrator.Workspaces;

/// <summary>
/// Puts a retired agent's workspace aside under the data folder (<c>&lt;archive&gt;/&lt;agent-id&gt;</c>, ADR 0136), so it no
/// longer sits among the live workspaces but stays readable by the operator. Agents are hostile (ADR 0070): the archive is
/// one rename of the workspace's top folder, checked with lstat to be a real folder and never walked, so it follows no link
/// inside, opens no file and costs the same whatever the agent left there. A workspace with a quota is its file-system image:
/// it is unmounted and the image file renamed instead. The archive must be on the workspaces' file system (the default
/// layout, both under the repository); elsewhere the rename fails and the workspace stays where it was.
/// </summary>
public sealed class WorkspaceArchive(AgentWorkspaces workspaces, string root)
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Where archived workspaces go.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The archive of one agent (whether or not it exists).</summary>
    public string PathOf(string agentId) => Path.Combine(Root, Path.GetFileName(workspaces.PathOf(agentId)));

    /// <summary>
    /// Archives the workspace of <paramref name="agentId"/>; returns where it went, or null when it had none (never ran, or
    /// archived already). Throws <see cref="UnsafeWorkspaceEntryException"/> for a workspace that is not a real folder.
    /// </summary>
    public string? Archive(string agentId)
    {
        var path = workspaces.PathOf(agentId);
        var target = PathOf(agentId);
        var image = Path.Combine(workspaces.ImagesRoot, agentId + ".ext4");
        var mounted = !OperatingSystem.IsWindows() && WorkspaceFiles.Entry(path) is DirectoryInfo { LinkTarget: null } && WorkspaceQuota.IsMountPoint(path);
        switch (WorkspaceFiles.Entry(path))
        {
            case null when !File.Exists(image):
                return null;
            case null:
                break;
            case { LinkTarget: not null }:
                throw new UnsafeWorkspaceEntryException($"workspace {path} is a symbolic link; it is not archived");
            case DirectoryInfo:
                break;
            default:
                throw new UnsafeWorkspaceEntryException($"workspace {path} is not a folder; it is not archived");
        }
        EnsureRoot();
        if (mounted) WorkspaceQuota.Unmount(path);
        if (File.Exists(image))
        {
            // The agent's files are inside the image; what is left at the path is the host's empty mount point.
            File.Move(image, target + ".ext4");
            if (Directory.Exists(path))
            {
                if (Directory.EnumerateFileSystemEntries(path).Any()) Directory.Move(path, target);
                else Directory.Delete(path);
            }
            return target + ".ext4";
        }
        Directory.Move(path, target);
        return target;
    }

    private void EnsureRoot()
    {
        Directory.CreateDirectory(Root);
        if (!OperatingSystem.IsWindows() && WorkspaceFiles.CanChangeOwner) File.SetUnixFileMode(Root, OwnerOnly);
    }
}
