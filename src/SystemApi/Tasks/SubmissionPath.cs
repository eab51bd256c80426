namespace CyAgents.SystemApi.Tasks;

/// <summary>The path a submission names inside the workspace, and the host-side care of its copy.</summary>
public static class SubmissionPath
{
    private const string Workspace = "/workspace/";

    /// <summary>The path relative to the workspace (a leading <c>/workspace/</c> dropped), or null with the reason.</summary>
    public static string? Normalize(string? path, out string? problem)
    {
        problem = null;
        var p = path?.Trim();
        if (string.IsNullOrEmpty(p)) { problem = "is required (a file or folder inside your workspace)"; return null; }
        if (p.Length > 1024) { problem = "must be at most 1024 characters"; return null; }
        if (p.StartsWith(Workspace, StringComparison.Ordinal)) p = p[Workspace.Length..];
        if (p.StartsWith('/')) { problem = "must be relative to your workspace (or start with /workspace/)"; return null; }
        if (p.Any(c => c < 0x20 || c == 0x7f)) { problem = "must not hold control characters"; return null; }
        var parts = p.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(s => s is "." or "..")) { problem = "must name an entry inside your workspace, without . or .."; return null; }
        return string.Join('/', parts);
    }

    /// <summary>
    /// Makes the copy readable by the verifier's user and writable by no one. The tree is the host's own copy (only regular
    /// files and folders were created), so walking it by path is safe.
    /// </summary>
    public static void MakeReadOnly(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        foreach (var dir in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories).Append(folder))
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite | UnixFileMode.GroupRead |
                                      UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    /// <summary>Deletes a copy that will not be used (best effort: a leftover is only disk).</summary>
    public static void Remove(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
