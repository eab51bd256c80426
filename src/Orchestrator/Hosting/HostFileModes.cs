using System.Runtime.InteropServices;

namespace CyAgents.Orchestrator.Hosting;

/// <summary>
/// The host's own files are the operator's alone (ADR 0071): the data folder 0700, and every file the live host creates —
/// the database with its -wal and -shm (SQLite gives those the database's mode), system.log and its rolled files, the
/// operator token — 0600, by a process umask of 077 set before any of them is created. Files an earlier run left with wider
/// modes are narrowed at start. Agent-facing files (workspaces, contexts, the API socket) set their modes explicitly.
/// </summary>
public static class HostFileModes
{
    private const UnixFileMode OwnerFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Sets the umask to 077 and narrows the data folder, the database and the log (and their companions) if they exist.</summary>
    public static void Restrict(string dataFolder, string? database, string log)
    {
        if (OperatingSystem.IsWindows()) return;
        umask(0b000_111_111);
        Directory.CreateDirectory(dataFolder);
        File.SetUnixFileMode(dataFolder, OwnerFolder);
        var files = new List<string>();
        if (database is not null) files.AddRange([database, database + "-wal", database + "-shm", database + "-journal"]);
        var logFolder = Path.GetDirectoryName(Path.GetFullPath(log))!;
        if (Directory.Exists(logFolder))
            files.AddRange(Directory.EnumerateFiles(logFolder, Path.GetFileNameWithoutExtension(log) + "*" + Path.GetExtension(log)));
        foreach (var file in files)
        {
            // The host's own folder, not an agent's: a plain file is narrowed, anything else is left alone.
            var info = new FileInfo(file);
            if (info.Exists && info.LinkTarget is null) File.SetUnixFileMode(file, OwnerFile);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern uint umask(uint mask);
}
