using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CyAgents.Orchestrator.Workspaces;

/// <summary>
/// A per-agent quota enforced by the kernel (ADR 0073): each workspace is an ext4 file system of its own — a sparse image
/// file formatted with no reserved blocks and a fixed inode count, loop-mounted nosuid,nodev at the workspace's path. An
/// agent that writes past it gets ENOSPC inside its own file system; the host's disk is never touched.
/// </summary>
/// <param name="MiB">Size of each workspace.</param>
/// <param name="Inodes">Files and folders it may hold.</param>
public sealed record WorkspaceQuota(int MiB, int Inodes)
{
    public long Bytes => MiB * 1024L * 1024;

    /// <summary>Formats a new image for <paramref name="uid"/> (its root folder owned by that uid).</summary>
    public void Format(string image, int uid)
    {
        using (var file = new FileStream(image, FileMode.CreateNew, FileAccess.Write))
            file.SetLength(Bytes); // sparse: only what the agent writes takes disk space
        Run("mkfs.ext4", "-q", "-F", "-m", "0", "-N", Inodes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-E", $"root_owner={uid}:{uid}", image);
    }

    /// <summary>Mounts an image at <paramref name="path"/> (loop, nosuid, nodev).</summary>
    public static void Mount(string image, string path) => Run("mount", "-o", "loop,nosuid,nodev", image, path);

    /// <summary>Unmounts <paramref name="path"/> (lazily, so a container still holding it cannot stall the host).</summary>
    public static void Unmount(string path) => Run("umount", "-l", path);

    /// <summary>True when <paramref name="path"/> is a mount point (per /proc/self/mountinfo, the host's own file).</summary>
    public static bool IsMountPoint(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && Unescape(fields[4]) == full) return true;
        }
        return false;
    }

    private static string Unescape(string field) => field.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");

    /// <summary>Bytes and inodes still free on the file system holding <paramref name="path"/>, or null when unknown.</summary>
    public static (long FreeBytes, long FreeInodes)? Free(string path)
    {
        if (OperatingSystem.IsWindows() || statvfs(path, out var s) != 0) return null;
        return ((long)(s.f_bavail * s.f_frsize), (long)s.f_favail);
    }

    private static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new IOException($"cannot start {program}");
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new IOException($"{program} did not finish within 30 s");
        }
        if (process.ExitCode != 0) throw new IOException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result.Trim()}");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct StatVfs
    {
        public ulong f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, f_fsid, f_flag, f_namemax;
        public ulong spare0, spare1, spare2, spare3, spare4, spare5;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statvfs([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out StatVfs buffer);
}
