using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CyAgents.SystemApi.Workspaces;

/// <summary>How much one walk of a folder tree may do before it stops with <see cref="UnsafeWorkspaceEntryException"/>.</summary>
/// <param name="MaxEntries">Files and folders, together.</param>
/// <param name="MaxBytes">Bytes of file content, together.</param>
/// <param name="MaxDepth">Folder nesting below the top.</param>
public sealed record TreeLimits(int MaxEntries = 10_000, long MaxBytes = 256L * 1024 * 1024, int MaxDepth = 32)
{
    /// <summary>The limits used when nothing else is configured.</summary>
    public static TreeLimits Default { get; } = new();
}

/// <summary>A host file operation met a symbolic link, a special file or a limit where it expected a plain file or folder.</summary>
public sealed class UnsafeWorkspaceEntryException(string message) : IOException(message);

/// <summary>
/// Host-side file operations on trees an agent may have written (ADR 0070). The orchestrator runs as root, so every
/// operation here refuses to follow symbolic links or open anything but regular files and folders, opens files with
/// O_NOFOLLOW|O_NONBLOCK (a FIFO cannot stall it) and checks the type on the open descriptor (no check-then-use race), and
/// stops after a bounded amount of work. Ownership is given with lchown, which never follows a link.
/// </summary>
public static class WorkspaceFiles
{
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000;
    private const int ELOOP = 40;
    private const uint S_IFMT = 0xF000, S_IFREG = 0x8000;

    /// <summary>True when this process may give files to other uids (it runs as root).</summary>
    public static bool CanChangeOwner => !OperatingSystem.IsWindows() && geteuid() == 0;

    /// <summary>
    /// Opens a regular file for reading without following a link at its last component and without blocking on a FIFO;
    /// anything else (a link, a FIFO, a device, a socket, a folder) is refused.
    /// </summary>
    public static FileStream OpenRegularForRead(string path)
    {
        if (OperatingSystem.IsWindows()) return new FileStream(path, FileMode.Open, FileAccess.Read);
        var fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == ELOOP
                ? new UnsafeWorkspaceEntryException($"{path} is a symbolic link; it is not followed")
                : new IOException($"cannot open {path} (errno {errno})");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var mode = ModeOf(fd);
            if ((mode & S_IFMT) != S_IFREG)
                throw new UnsafeWorkspaceEntryException($"{path} is not a regular file (mode {Convert.ToString(mode, 8)}); it is not opened");
            return new FileStream(handle, FileAccess.Read, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads a regular file of at most <paramref name="maxBytes"/> bytes, refusing links, special files and larger files.</summary>
    public static byte[] ReadRegular(string path, long maxBytes)
    {
        using var stream = OpenRegularForRead(path);
        if (stream.Length > maxBytes)
            throw new UnsafeWorkspaceEntryException($"{path} has {stream.Length} bytes; at most {maxBytes} are read");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Creates a new file (never an existing path, never through a link) with the given content and mode.</summary>
    public static void CreateFile(string path, ReadOnlySpan<byte> content, UnixFileMode mode)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using var stream = new FileStream(path, options);
        stream.Write(content);
    }

    /// <summary>
    /// Copies the folder tree <paramref name="from"/> into the existing, empty folder <paramref name="to"/>: plain folders and
    /// regular files only (a link or special file stops the copy), within <paramref name="limits"/>; every created entry is
    /// given to <paramref name="uid"/> when this process may do so.
    /// </summary>
    public static void CopyTree(string from, string to, TreeLimits limits, int? uid)
    {
        var budget = new TreeBudget(limits);
        var top = new DirectoryInfo(from);
        if (!top.Exists) throw new DirectoryNotFoundException($"{from} does not exist");
        if (top.LinkTarget is not null) throw new UnsafeWorkspaceEntryException($"{from} is a symbolic link; it is not followed");
        CopyFolder(top, to, uid, budget, depth: 0);
    }

    private static void CopyFolder(DirectoryInfo from, string to, int? uid, TreeBudget budget, int depth)
    {
        if (depth > budget.Limits.MaxDepth)
            throw new UnsafeWorkspaceEntryException($"{from.FullName} is nested deeper than {budget.Limits.MaxDepth} folders");
        // Enumeration reports each entry's own type (lstat): a link is a link, whatever it points to.
        foreach (var entry in from.EnumerateFileSystemInfos())
        {
            budget.Count(entry.FullName);
            if (entry.LinkTarget is not null || entry.Attributes.HasFlag(FileAttributes.ReparsePoint))
                throw new UnsafeWorkspaceEntryException($"{entry.FullName} is a symbolic link; it is not copied");
            var target = Path.Combine(to, entry.Name);
            if (entry is DirectoryInfo folder)
            {
                Directory.CreateDirectory(target);
                GiveTo(target, uid);
                CopyFolder(folder, target, uid, budget, depth + 1);
            }
            else
            {
                using var source = OpenRegularForRead(entry.FullName);
                budget.Add(entry.FullName, source.Length);
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                    options.UnixCreateMode = File.GetUnixFileMode(source.SafeFileHandle) & (UnixFileMode)0b111_101_101;
                using (var copy = new FileStream(target, options))
                    CopyBounded(source, copy);
                GiveTo(target, uid);
            }
        }
    }

    private static void CopyBounded(Stream source, Stream target)
    {
        // The length was counted already: a file that grows while it is copied is cut at that length.
        var left = source.Length;
        var buffer = new byte[81920];
        while (left > 0)
        {
            var read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0) break;
            target.Write(buffer, 0, read);
            left -= read;
        }
    }

    /// <summary>Gives one path (never what a link points to) to <paramref name="uid"/>; nothing when null or not root.</summary>
    public static void GiveTo(string path, int? uid)
    {
        if (uid is not { } id || !CanChangeOwner) return;
        if (lchown(path, id, id) != 0)
            throw new IOException($"cannot give {path} to uid {id} (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>The type and permission bits of a path itself (lstat), or null when it does not exist.</summary>
    public static FileSystemInfo? Entry(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists || info.LinkTarget is not null) return info;
        var folder = new DirectoryInfo(path);
        return folder.Exists ? folder : null;
    }

    /// <summary>
    /// Gives a tree to <paramref name="uid"/> entry by entry (lchown: links are not followed), within <paramref name="limits"/>.
    /// Only for a tree no agent has had access to yet (a fresh copy the host made); an agent's tree is never walked.
    /// </summary>
    public static void GiveTreeTo(string path, int uid, TreeLimits limits)
    {
        if (!CanChangeOwner) return;
        var budget = new TreeBudget(limits);
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, MaxRecursionDepth = limits.MaxDepth };
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos("*", options))
        {
            budget.Count(entry.FullName);
            GiveTo(entry.FullName, uid);
        }
        GiveTo(path, uid);
    }

    /// <summary>The owner uid of a path itself (lstat), or null when it does not exist or on Windows.</summary>
    public static int? OwnerOf(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        var buffer = new byte[256];
        if (lstat(path, buffer) != 0) return null;
        return (int)BitConverter.ToUInt32(buffer, RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 28 : 24);
    }

    // struct stat differs by architecture: x86_64 has st_mode at 24 and st_uid at 28; the generic layout (arm64) 16 and 24.
    private static uint ModeOf(int fd)
    {
        var buffer = new byte[256];
        if (fstat(fd, buffer) != 0) throw new IOException($"fstat failed (errno {Marshal.GetLastPInvokeError()})");
        var offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        return BitConverter.ToUInt32(buffer, offset);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int lstat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fstat(int fd, byte[] buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern int lchown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int owner, int group);

    [DllImport("libc")]
    private static extern uint geteuid();
}
