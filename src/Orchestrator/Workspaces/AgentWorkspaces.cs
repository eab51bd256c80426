using System.Text.Json;
using CyAgents.Contracts.Sandbox;
using CyAgents.SystemApi.Workspaces;

namespace CyAgents.Orchestrator.Workspaces;

/// <summary>
/// The per-agent folders under the workspaces root (<c>&lt;root&gt;/&lt;agent-id&gt;</c>, created from the template) and the
/// per-execution context folders under the context root (<c>&lt;context&gt;/&lt;execution-id&gt;/env.json</c>, mounted
/// read-only). Agents are hostile (ADR 0070): nothing here follows a link or walks a tree an agent has written; ownership
/// is given once, when the host creates the folder.
/// </summary>
public sealed class AgentWorkspaces(string root, string template, string? contextRoot = null, TreeLimits? limits = null,
    WorkspaceQuota? quota = null) : IDisposable
{
    private readonly HashSet<string> _mounted = [];
    private readonly Lock _mounting = new();

    private static readonly JsonSerializerOptions EnvJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string Root { get; } = Path.GetFullPath(root);
    public string Template { get; } = Path.GetFullPath(template);
    /// <summary>Where the per-execution context folders live: never inside a workspace, so no agent can plant anything there.</summary>
    public string ContextRoot { get; } = Path.GetFullPath(contextRoot ?? Path.GetFullPath(root).TrimEnd('/') + ".context");
    /// <summary>How much copying a template may do.</summary>
    public TreeLimits Limits { get; } = limits ?? TreeLimits.Default;
    /// <summary>Where the workspaces' file-system images live (never inside a workspace).</summary>
    public string ImagesRoot => Root.TrimEnd('/') + ".images";
    /// <summary>The quota each workspace gets, when it is enforced: only root may mount, so a developer's run goes without.</summary>
    public WorkspaceQuota? Quota { get; } = quota is { MiB: > 0 } && WorkspaceFiles.CanChangeOwner ? quota : null;

    /// <summary>The folder of one agent (not created).</summary>
    public string PathOf(string agentId)
    {
        if (string.IsNullOrWhiteSpace(agentId) || agentId.IndexOfAny(['/', '\\', '\0']) >= 0 || agentId is "." or ".." || agentId.StartsWith('.'))
            throw new ArgumentException($"'{agentId}' is not a valid agent id for a workspace folder", nameof(agentId));
        var path = Path.Combine(Root, agentId);
        if (string.Equals(Path.GetFullPath(path).TrimEnd('/'), Template.TrimEnd('/'), StringComparison.Ordinal))
            throw new ArgumentException($"agent '{agentId}' would run in the workspace template {Template}; give it another id", nameof(agentId));
        return path;
    }

    /// <summary>
    /// Makes the agent's workspace ready for <paramref name="uid"/>: a new one is copied from the template (plain files and
    /// folders only, bounded) with its own strategy when given and handed to the uid; a folder the host staged (a spawn's
    /// copy, still owned by root) is handed over once; an existing workspace is only checked to be a real folder and gets
    /// owner and mode 0700 on its top folder — its contents, the agent's, are never walked.
    /// </summary>
    public string Prepare(string agentId, string? strategyJson, int uid)
    {
        var path = PathOf(agentId);
        EnsureHostFolder(Root);
        switch (WorkspaceFiles.Entry(path))
        {
            case null:
                Create(path, strategyJson, uid);
                break;
            case { LinkTarget: not null }:
                throw new UnsafeWorkspaceEntryException($"workspace {path} is a symbolic link; it is not used");
            case DirectoryInfo when WorkspaceFiles.CanChangeOwner && WorkspaceFiles.OwnerOf(path) == 0:
                // A copy the host staged (spawn) that no agent has seen yet: handing it over walks only the host's own files.
                WorkspaceFiles.GiveTreeTo(path, uid, Limits);
                break;
            case DirectoryInfo:
                break;
            default:
                throw new UnsafeWorkspaceEntryException($"workspace {path} is not a folder");
        }
        if (Quota is { } q) EnsureMounted(agentId, path, uid, q);
        if (WorkspaceFiles.CanChangeOwner && WorkspaceFiles.OwnerOf(path) is { } owner && owner != 0 && owner != uid)
            Rehome(agentId, path, uid);
        HandOver(path, uid);
        return path;
    }

    /// <summary>
    /// A workspace made before its agent had a uid of its own (ADR 0071: all agents were 10001 then) is copied, with the same
    /// no-follow, bounded copy as a template, into files owned by the agent's uid — never chowned by a walk of its tree. With a
    /// quota the agent's image is formatted anew for that uid and the copy goes in.
    /// </summary>
    private void Rehome(string agentId, string path, int uid)
    {
        var copy = Path.Combine(Root, $".{agentId}.{Guid.NewGuid():N}.rehome");
        Directory.CreateDirectory(copy);
        try
        {
            WorkspaceFiles.CopyTree(path, copy, Limits, uid);
            if (Quota is { } q)
            {
                lock (_mounting)
                {
                    WorkspaceQuota.Unmount(path);
                    _mounted.Remove(path);
                    var image = Path.Combine(ImagesRoot, agentId + ".ext4");
                    File.Delete(image);
                    q.Format(image, uid);
                    WorkspaceQuota.Mount(image, path);
                    _mounted.Add(path);
                    var lostFound = Path.Combine(path, "lost+found");
                    if (Directory.Exists(lostFound) && !Directory.EnumerateFileSystemEntries(lostFound).Any()) Directory.Delete(lostFound);
                }
                WorkspaceFiles.CopyTree(copy, path, Limits, uid);
                Directory.Delete(copy, recursive: true);
            }
            else
            {
                var aside = Path.Combine(Root, $".{agentId}.{Guid.NewGuid():N}.old");
                Directory.Move(path, aside);
                Directory.Move(copy, path);
                Directory.Delete(aside, recursive: true);
            }
        }
        catch
        {
            if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Makes the workspace its own file system of the quota's size: formats the agent's image on first use and mounts it at
    /// the workspace's path; what the folder held (the host's fresh copy, or an older workspace without a quota) is copied
    /// in with the same no-follow, bounded copy as a template. A workspace that is mounted already is left as it is.
    /// </summary>
    private void EnsureMounted(string agentId, string path, int uid, WorkspaceQuota q)
    {
        lock (_mounting)
        {
            if (WorkspaceQuota.IsMountPoint(path))
            {
                _mounted.Add(path);
                return;
            }
            EnsureHostFolder(ImagesRoot);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(ImagesRoot, OwnerOnly);
            var image = Path.Combine(ImagesRoot, agentId + ".ext4");
            if (!File.Exists(image)) q.Format(image, uid);
            var aside = Path.Combine(Root, $".{agentId}.{Guid.NewGuid():N}.old");
            Directory.Move(path, aside);
            Directory.CreateDirectory(path);
            var mounted = false;
            try
            {
                WorkspaceQuota.Mount(image, path);
                mounted = true;
                var lostFound = Path.Combine(path, "lost+found");
                if (Directory.Exists(lostFound) && !Directory.EnumerateFileSystemEntries(lostFound).Any()) Directory.Delete(lostFound);
                WorkspaceFiles.CopyTree(aside, path, Limits, uid);
                Directory.Delete(aside, recursive: true);
                _mounted.Add(path);
            }
            catch
            {
                if (mounted) WorkspaceQuota.Unmount(path);
                Directory.Delete(path);
                Directory.Move(aside, path);
                throw;
            }
        }
    }

    /// <summary>Unmounts the workspaces this instance mounted (they are mounted again at their next execution).</summary>
    public void Dispose()
    {
        lock (_mounting)
        {
            foreach (var path in _mounted)
            {
                try { WorkspaceQuota.Unmount(path); }
                catch (IOException) { /* already gone */ }
            }
            _mounted.Clear();
        }
    }

    private void Create(string path, string? strategyJson, int uid)
    {
        // Build under a hidden name and rename into place, so a failed copy leaves no half workspace behind.
        var staging = Path.Combine(Root, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.new");
        Directory.CreateDirectory(staging);
        try
        {
            if (Directory.Exists(Template))
                WorkspaceFiles.CopyTree(Template, staging, Limits, uid);
            if (!string.IsNullOrWhiteSpace(strategyJson))
            {
                var strategy = Path.Combine(staging, "strategy.json");
                if (File.Exists(strategy)) File.Delete(strategy);
                WorkspaceFiles.CreateFile(strategy, System.Text.Encoding.UTF8.GetBytes(strategyJson), (UnixFileMode)0b110_100_100);
                WorkspaceFiles.GiveTo(strategy, uid);
            }
            Directory.Move(staging, path);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    // The top folder only: it is the mount point, which the agent cannot replace from inside its container.
    private static void HandOver(string path, int uid)
    {
        if (OperatingSystem.IsWindows()) return;
        if (WorkspaceFiles.CanChangeOwner)
        {
            WorkspaceFiles.GiveTo(path, uid);
            File.SetUnixFileMode(path, OwnerOnly);
        }
        else
        {
            // A developer's own uid cannot hand files to the sandbox uid: the folder is opened up instead (not for production).
            File.SetUnixFileMode(path, (UnixFileMode)0b111_111_111);
        }
    }

    private static void EnsureHostFolder(string path)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows() && WorkspaceFiles.CanChangeOwner)
            File.SetUnixFileMode(path, OwnerOnly | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    /// <summary>
    /// Writes one execution's context to a fresh folder of its own outside every workspace
    /// (<c>&lt;context&gt;/&lt;execution-id&gt;/env.json</c>; folder and file owned by <paramref name="uid"/> and readable by
    /// it alone, ADR 0071: it carries the token);
    /// the sandbox mounts that folder read-only at <see cref="AgentEnvironment.ContainerFolder"/>. Returns the folder.
    /// </summary>
    public string DeliverEnvironment(AgentEnvironment environment, int uid)
    {
        if (string.IsNullOrWhiteSpace(environment.ExecutionId) || environment.ExecutionId.IndexOfAny(['/', '\\', '\0']) >= 0 || environment.ExecutionId.StartsWith('.'))
            throw new ArgumentException($"'{environment.ExecutionId}' is not a valid execution id for a context folder", nameof(environment));
        Directory.CreateDirectory(ContextRoot);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(ContextRoot, OwnerOnly | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        var folder = Path.Combine(ContextRoot, environment.ExecutionId);
        // A leftover of an earlier attempt of the same execution is replaced: the folder is the host's own, never an agent's.
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, AgentEnvironment.FileName);
        var mode = WorkspaceFiles.CanChangeOwner ? UnixFileMode.UserRead : (UnixFileMode)0b100_100_100;
        WorkspaceFiles.CreateFile(file, JsonSerializer.SerializeToUtf8Bytes(environment, EnvJson), mode);
        WorkspaceFiles.GiveTo(file, uid);
        if (!OperatingSystem.IsWindows())
        {
            if (WorkspaceFiles.CanChangeOwner)
            {
                // Only the execution's uid may even list it: another agent that learned the path gets EACCES.
                WorkspaceFiles.GiveTo(folder, uid);
                File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            }
            else File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        }
        return folder;
    }

    /// <summary>Removes an execution's context folder once it ended (the token in it is dead already).</summary>
    public void RemoveEnvironment(string executionId)
    {
        var folder = Path.Combine(ContextRoot, executionId);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }
}
