using CyAgents.Contracts.Sandbox;
using CyAgents.SystemApi.Workspaces;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// The context folder of a service's lease (ADR 0138): a bind mount is fixed when a container is created, so a lease mounts a
/// folder of its own, <c>&lt;context root&gt;/lease-&lt;first execution id&gt;</c>, beside the executions' folders, and each
/// window's env.json (its own token) is copied into it from the execution's folder the cycle delivered. Both folders are the
/// host's: the agent sees them read-only and never writes there, and every read and write here refuses links anyway
/// (ADR 0070). The new env.json is written beside the old one and renamed over it, so the agent never reads half a file.
/// </summary>
internal static class LeaseContexts
{
    /// <summary>Largest env.json copied (it is a few hundred bytes).</summary>
    private const long MaxEnvBytes = 64 * 1024;

    /// <summary>Creates the lease's folder with the execution's env.json, owner and modes; returns the folder.</summary>
    public static string Open(string executionContext, string executionId)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(executionContext))
            ?? throw new ArgumentException($"{executionContext} has no parent folder", nameof(executionContext));
        var folder = Path.Combine(parent, "lease-" + executionId);
        // A leftover of an earlier attempt of the same execution is the host's own: replaced.
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        Refresh(folder, executionContext);
        if (!OperatingSystem.IsWindows())
        {
            WorkspaceFiles.GiveTo(folder, WorkspaceFiles.OwnerOf(executionContext));
            File.SetUnixFileMode(folder, File.GetUnixFileMode(executionContext));
        }
        return folder;
    }

    /// <summary>Replaces the lease folder's env.json with the one of the execution now served.</summary>
    public static void Refresh(string leaseFolder, string executionContext)
    {
        var source = Path.Combine(executionContext, AgentEnvironment.FileName);
        var bytes = WorkspaceFiles.ReadRegular(source, MaxEnvBytes);
        var staged = Path.Combine(leaseFolder, $".{AgentEnvironment.FileName}.{Guid.NewGuid():N}");
        var mode = OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(source);
        WorkspaceFiles.CreateFile(staged, bytes, mode);
        try
        {
            WorkspaceFiles.GiveTo(staged, WorkspaceFiles.OwnerOf(source));
            // rename(2) replaces the entry itself, never what it might point to.
            File.Move(staged, Path.Combine(leaseFolder, AgentEnvironment.FileName), overwrite: true);
        }
        catch
        {
            File.Delete(staged);
            throw;
        }
    }

    /// <summary>Removes a lease's folder once its container is gone; a folder that cannot be removed is left for the next start.</summary>
    public static void Remove(string? leaseFolder)
    {
        if (leaseFolder is null) return;
        try
        {
            if (Directory.Exists(leaseFolder)) Directory.Delete(leaseFolder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
