using System.Diagnostics;

namespace CyAgents.Orchestrator.Sandbox.Runtimes;

/// <summary>
/// What a runtime's image holds, as listed on every check: host files and where they go, links, folders, the binaries
/// whose shared libraries go in too, and other inputs as text (recipe version, a source hash). Listing only reads
/// folders and file metadata, so it is cheap enough to run on every start (ADR 0104).
/// </summary>
internal sealed class RuntimeContent
{
    /// <summary>Host file → image path, in a stable order.</summary>
    public List<(string Host, string Image)> Files { get; } = [];
    /// <summary>Host files hashed by content rather than by size and time: the repository's own files (the SDK).</summary>
    public HashSet<string> HashedByContent { get; } = new(StringComparer.Ordinal);
    /// <summary>Image path → link target.</summary>
    public List<(string Image, string Target)> Links { get; } = [];
    /// <summary>Folders that exist even when empty (mount points, the working directory).</summary>
    public List<string> Directories { get; } = [];
    /// <summary>Folders anyone may write (/tmp; a tmpfs covers it in the sandbox anyway).</summary>
    public List<string> WritableDirectories { get; } = [];
    /// <summary>Host binaries and libraries whose <c>ldd</c> closure goes into the image at the same paths.</summary>
    public List<string> Linked { get; } = [];
    /// <summary>Other inputs of the build, as text.</summary>
    public List<string> Facts { get; } = [];
    /// <summary>The Dockerfile, ending in the runtime's ENV, WORKDIR, USER and CMD.</summary>
    public string Dockerfile { get; set; } = "";

    /// <summary>
    /// The absolute paths of the shared libraries (and the loader) that <c>ldd</c> resolves for <paramref name="binaries"/>,
    /// in one <c>ldd</c> call. A library it cannot find is an error: the runtime would fail at import, not at build.
    /// </summary>
    public static IReadOnlyList<string> SharedLibraries(IReadOnlyCollection<string> binaries)
    {
        if (binaries.Count == 0) return [];
        var psi = new ProcessStartInfo("ldd") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var binary in binaries) psi.ArgumentList.Add(binary);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start ldd");
        var stderr = process.StandardError.ReadToEndAsync();
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        string? current = binaries.Count == 1 ? binaries.First() : null;
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var line = raw.Trim();
            // With several files, ldd prints "path:" before each file's list.
            if (!raw.StartsWith('\t') && line.EndsWith(':')) { current = line[..^1]; continue; }
            if (line.Contains("not found", StringComparison.Ordinal))
                throw new InvalidOperationException($"ldd: {current} needs a library the host lacks: {line}");
            // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            var part = line.Contains("=>", StringComparison.Ordinal) ? line[(line.IndexOf("=>", StringComparison.Ordinal) + 2)..].Trim() : line;
            var path = part.Split(' ')[0];
            if (path.StartsWith('/')) paths.Add(path);
        }
        if (process.ExitCode != 0 && paths.Count == 0)
            throw new InvalidOperationException($"ldd failed ({process.ExitCode}): {stderr.Result.Trim()}");
        return [.. paths];
    }

    /// <summary>
    /// The file a path finally names (links followed): its size and modification time, which change whenever a Debian
    /// package replaces it. Host trees are trusted (root-owned system folders), unlike anything an agent writes.
    /// </summary>
    public static (long Size, long Ticks) Stat(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        return (info.Length, info.LastWriteTimeUtc.Ticks);
    }

    /// <summary>
    /// Adds every file and relative link under <paramref name="hostFolder"/> at the same path in the image, skipping
    /// what <paramref name="skip"/> says (given the path relative to the folder, '/'-separated). Links are not followed;
    /// an absolute link (pointing outside the runtime, e.g. to /etc) is left out.
    /// </summary>
    public void AddTree(string hostFolder, Func<string, bool> skip)
    {
        var stack = new Stack<string>([hostFolder]);
        var found = new List<FileSystemInfo>();
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                var relative = Path.GetRelativePath(hostFolder, entry.FullName).Replace('\\', '/');
                if (skip(relative)) continue;
                if (entry.LinkTarget is { } target)
                {
                    if (!target.StartsWith('/')) found.Add(entry);
                }
                else if (entry is DirectoryInfo) stack.Push(entry.FullName);
                else if (entry is FileInfo) found.Add(entry);
            }
        }
        foreach (var entry in found.OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            if (entry.LinkTarget is { } target) Links.Add((entry.FullName, target));
            else Files.Add((entry.FullName, entry.FullName));
        }
    }
}
