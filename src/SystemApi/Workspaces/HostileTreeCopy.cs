using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CyAgents.SystemApi.Workspaces;

/// <summary>
/// Copies a tree that a running agent may be changing while it is read (a parent's workspace, for its spawned child):
/// unlike <see cref="WorkspaceFiles.CopyTree"/>, no path of more than one component below the top is ever resolved.
/// Each folder is held open by descriptor, listed through that descriptor, and each entry is opened with
/// <c>openat(folder, name, O_NOFOLLOW|O_NONBLOCK)</c> and typed with <c>fstat</c> on what was opened — so an agent that
/// swaps a folder for a link to <c>/etc</c> between the listing and the open gets its copy refused, never the host's
/// files copied (ADR 0101). Links, FIFOs, sockets and devices stop the copy; so do the limits.
/// </summary>
public static class HostileTreeCopy
{
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000;
    private const int ELOOP = 40, ENOTDIR = 20;
    private const uint S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000;
    private const int AT_FDCWD = -100;

    /// <summary>Copies <paramref name="from"/> (itself not a link) into the existing, empty folder <paramref name="to"/>.</summary>
    /// <exception cref="UnsafeWorkspaceEntryException">A link, special file or limit was met; <paramref name="to"/> holds a partial copy.</exception>
    public static void Copy(string from, string to, TreeLimits limits)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("copying a hostile tree needs openat (Linux)");
        var top = openat(AT_FDCWD, Path.GetFullPath(from), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is ELOOP or ENOTDIR
                ? new UnsafeWorkspaceEntryException($"{from} is a link or not a folder; it is not copied")
                : new DirectoryNotFoundException($"cannot open {from} (errno {errno})");
        }
        using var handle = new SafeFileHandle(top, ownsHandle: true);
        var budget = new TreeBudget(limits);
        CopyFolder(handle, from, to, budget, depth: 0);
    }

    /// <summary>
    /// Copies the file or folder at <paramref name="relativePath"/> below <paramref name="root"/> (a task submission) into the
    /// existing, empty folder <paramref name="to"/>, at the same relative path. Every component on the way is opened with
    /// <c>openat(…, O_NOFOLLOW)</c> from the folder before it, so a link anywhere on the path — not only at its end — refuses
    /// the copy, and so does a special file or a limit. Returns the regular files and bytes copied.
    /// </summary>
    /// <exception cref="UnsafeWorkspaceEntryException">A link, special file, missing entry or limit was met; <paramref name="to"/> may hold a partial copy.</exception>
    public static (int Files, long Bytes) CopyEntry(string root, string relativePath, string to, TreeLimits limits)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("copying a hostile tree needs openat (Linux)");
        var parts = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
            throw new UnsafeWorkspaceEntryException($"'{relativePath}' is not a path inside the workspace");
        var top = openat(AT_FDCWD, Path.GetFullPath(root), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0) throw new UnsafeWorkspaceEntryException($"the workspace cannot be opened (errno {Marshal.GetLastPInvokeError()})");
        var folder = new SafeFileHandle(top, ownsHandle: true);
        var target = to;
        try
        {
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var fd = openat((int)folder.DangerousGetHandle(), parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) throw Refused(string.Join('/', parts[..(i + 1)]), Marshal.GetLastPInvokeError());
                folder.Dispose();
                folder = new SafeFileHandle(fd, ownsHandle: true);
                target = Path.Combine(target, parts[i]);
                Directory.CreateDirectory(target);
            }
            var shown = string.Join('/', parts);
            var last = openat((int)folder.DangerousGetHandle(), parts[^1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (last < 0) throw Refused(shown, Marshal.GetLastPInvokeError());
            using var entry = new SafeFileHandle(last, ownsHandle: true);
            var (mode, size) = Stat(last);
            var budget = new TreeBudget(limits);
            target = Path.Combine(target, parts[^1]);
            switch (mode & S_IFMT)
            {
                case S_IFDIR:
                    Directory.CreateDirectory(target);
                    CopyFolder(entry, shown, target, budget, depth: 0);
                    break;
                case S_IFREG:
                    budget.Count(shown);
                    budget.Add(shown, size);
                    CopyFile(entry, size, target, (UnixFileMode)(mode & 0b111_101_101));
                    break;
                default:
                    throw new UnsafeWorkspaceEntryException($"{shown} is not a regular file or folder (mode {Convert.ToString(mode, 8)}); it is not copied");
            }
            return (budget.Files, budget.Bytes);
        }
        finally
        {
            folder.Dispose();
        }
    }

    private const int ENOENT = 2;

    private static UnsafeWorkspaceEntryException Refused(string shown, int errno) => errno switch
    {
        ELOOP => new($"{shown} is a symbolic link; it is not copied"),
        ENOTDIR => new($"{shown} is not a folder (or is a link to one); it is not copied"),
        ENOENT => new($"{shown} does not exist in the workspace"),
        _ => new($"{shown} cannot be opened (errno {errno}); it is not copied"),
    };

    private static void CopyFolder(SafeFileHandle folder, string shownPath, string to, TreeBudget budget, int depth)
    {
        if (depth > budget.Limits.MaxDepth)
            throw new UnsafeWorkspaceEntryException($"{shownPath} is nested deeper than {budget.Limits.MaxDepth} folders");
        // The listing goes through the descriptor (/proc/self/fd/N is the folder that was opened, wherever it is now).
        var names = new List<string>();
        foreach (var entry in new DirectoryInfo($"/proc/self/fd/{folder.DangerousGetHandle()}").EnumerateFileSystemInfos())
        {
            budget.Count(Path.Combine(shownPath, entry.Name));
            names.Add(entry.Name);
        }
        foreach (var name in names)
        {
            var shown = Path.Combine(shownPath, name);
            var fd = openat((int)folder.DangerousGetHandle(), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw errno == ELOOP
                    ? new UnsafeWorkspaceEntryException($"{shown} is a symbolic link; it is not copied")
                    : new UnsafeWorkspaceEntryException($"{shown} cannot be opened (errno {errno}); it is not copied");
            }
            using var entry = new SafeFileHandle(fd, ownsHandle: true);
            var (mode, size) = Stat(fd);
            var target = Path.Combine(to, name);
            switch (mode & S_IFMT)
            {
                case S_IFDIR:
                    Directory.CreateDirectory(target);
                    CopyFolder(entry, shown, target, budget, depth + 1);
                    break;
                case S_IFREG:
                    budget.Add(shown, size);
                    CopyFile(entry, size, target, (UnixFileMode)(mode & 0b111_101_101));
                    break;
                default:
                    throw new UnsafeWorkspaceEntryException($"{shown} is not a regular file or folder (mode {Convert.ToString(mode, 8)}); it is not copied");
            }
        }
    }

    private static void CopyFile(SafeFileHandle source, long size, string target, UnixFileMode mode)
    {
        using var input = new FileStream(source, FileAccess.Read, bufferSize: 0);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using var output = new FileStream(target, options);
        // The size was counted already: a file that grows while it is copied is cut at that size.
        var left = size;
        var buffer = new byte[81920];
        while (left > 0)
        {
            var read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0) break;
            output.Write(buffer, 0, read);
            left -= read;
        }
    }

    // struct stat on x86_64: st_mode at 24, st_size at 48; the generic layout (arm64): st_mode at 16, st_size at 48.
    private static (uint Mode, long Size) Stat(int fd)
    {
        var buffer = new byte[256];
        if (fstat(fd, buffer) != 0) throw new IOException($"fstat failed (errno {Marshal.GetLastPInvokeError()})");
        var modeAt = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        return (BitConverter.ToUInt32(buffer, modeAt), BitConverter.ToInt64(buffer, 48));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int openat(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fstat(int fd, byte[] buffer);
}
