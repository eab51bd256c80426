using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>Where the agent image comes from.</summary>
public sealed record AgentImageOptions
{
    /// <summary>Repository root holding src/GenesisAgent; found from the current directory when null.</summary>
    public string? SourceRoot { get; init; }
    /// <summary>Image repository name; the tag is a hash of the agent's sources.</summary>
    public string Repository { get; init; } = "cyagents/genesis-agent";
    /// <summary>Where publish output and build contexts are cached; default &lt;root&gt;/.images.</summary>
    public string? CacheDirectory { get; init; }
}

/// <summary>
/// Builds the GenesisAgent image offline (no registry is reachable): a self-contained, trimmed, single-file,
/// ReadyToRun publish plus the libraries <c>ldd</c> lists, <c>FROM scratch</c>, non-root. The tag is a hash of the
/// agent's sources, so an unchanged agent is never republished or rebuilt (ADR 0041).
/// </summary>
public sealed class AgentImage(DockerEngine engine, AgentImageOptions options, ILogger logger)
{
    /// <summary>The sandbox's user and group; matches USER in the image.</summary>
    public const int SandboxUid = 10001;

    private const string Recipe = "genesis-agent-image-v3";
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Returns the image tag, building the image only when the engine does not have it yet.</summary>
    public async Task<string> EnsureAsync(CancellationToken ct = default)
    {
        var root = options.SourceRoot ?? FindSourceRoot();
        var tag = $"{options.Repository}:{SourceHash(root)}";
        await Gate.WaitAsync(ct);
        try
        {
            if (await engine.InspectImageAsync(tag, ct) is not null)
                return tag;
            var cache = CacheFor(root, tag);
            var stopwatch = Stopwatch.StartNew();
            var binary = await PublishAsync(root, cache, ct);
            using var context = BuildContext(binary);
            await engine.BuildImageAsync(context, tag, ct);
            PruneOlderCaches(cache);
            var size = (await engine.InspectImageAsync(tag, ct))?.Size ?? 0;
            logger.LogInformation("Built agent image {Tag} ({SizeMiB:F1} MiB) in {Seconds:F1} s", tag, size / 1048576.0, stopwatch.Elapsed.TotalSeconds);
            return tag;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// The self-contained Genesis binary for the current sources, published once into the cache (the dotnet runtime image
    /// carries it at /app/genesis-agent); returns its path.
    /// </summary>
    public async Task<string> PublishAsync(CancellationToken ct = default)
    {
        var root = options.SourceRoot ?? FindSourceRoot();
        var tag = $"{options.Repository}:{SourceHash(root)}";
        await Gate.WaitAsync(ct);
        try
        {
            return await PublishAsync(root, CacheFor(root, tag), ct);
        }
        finally
        {
            Gate.Release();
        }
    }

    private string CacheFor(string root, string tag) =>
        Path.Combine(options.CacheDirectory ?? Path.Combine(root, ".images"), tag.Replace('/', '_').Replace(':', '_'));

    /// <summary>Publish caches of earlier agent sources are dead weight (about 100 MB each) once a newer image is built.</summary>
    private void PruneOlderCaches(string current)
    {
        var parent = Path.GetDirectoryName(current)!;
        var prefix = options.Repository.Replace('/', '_') + "_";
        foreach (var dir in Directory.EnumerateDirectories(parent, prefix + "*"))
        {
            if (dir == current) continue;
            try { Directory.Delete(dir, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { logger.LogDebug("Cannot prune {Dir}: {Error}", dir, e.Message); }
        }
    }

    /// <summary>Walks up from the working directory and the program's folder to the folder holding src/GenesisAgent.</summary>
    public static string FindSourceRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "src", "GenesisAgent", "GenesisAgent.csproj")))
                    return dir.FullName;
        }
        throw new InvalidOperationException(
            "Cannot find src/GenesisAgent/GenesisAgent.csproj above the current directory: run from the CyAgents repository.");
    }

    /// <summary>SHA-256 over the agent's and the contracts' sources and the build settings, first 12 hex digits.</summary>
    public static string SourceHash(string root)
    {
        var files = new[] { "src/GenesisAgent", "src/Contracts" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Concat(new[] { "Directory.Build.props", "Directory.Packages.props" }.Select(f => Path.Combine(root, f)).Where(File.Exists))
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(Recipe));
        foreach (var file in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(file + "\n"));
            sha.AppendData(File.ReadAllBytes(Path.Combine(root, file)));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..12];
    }

    private async Task<string> PublishAsync(string root, string cache, CancellationToken ct)
    {
        var output = Path.Combine(cache, "publish");
        var binary = Path.Combine(output, "genesis-agent");
        if (File.Exists(binary)) return binary;
        logger.LogInformation("Publishing the GenesisAgent (self-contained, trimmed, single file) into {Output}", output);
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                "publish", Path.Combine(root, "src", "GenesisAgent", "GenesisAgent.csproj"), "-c", "Release", "-r", "linux-x64",
                "--self-contained", "-p:PublishTrimmed=true", "-p:InvariantGlobalization=true", "-p:PublishSingleFile=true",
                "-p:PublishReadyToRun=true",
                // Source paths in the PDB become /_/..., so the debugger maps them with one sourceFileMap entry.
                "-p:ContinuousIntegrationBuild=true",
                "-o", output, "-nologo",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // Own obj/bin folders: a publish for linux-x64 must not rewrite the assets of a build running beside it.
        psi.Environment["CYAGENTS_ARTIFACTS"] = Path.Combine(cache, "artifacts");
        psi.Environment["MSBUILDNOINPROCNODE"] = "1";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0 || !File.Exists(binary))
            throw new InvalidOperationException($"dotnet publish of the GenesisAgent failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        return binary;
    }

    /// <summary>A tar build context: Dockerfile + rootfs/ with the binary and exactly the shared libraries it loads.</summary>
    private static MemoryStream BuildContext(string binary)
    {
        var stream = new MemoryStream();
        using (var tar = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            AddText(tar, "Dockerfile", $"""
                FROM scratch
                COPY rootfs/ /
                ENV HOME=/tmp TMPDIR=/tmp DOTNET_BUNDLE_EXTRACT_BASE_DIR=/tmp DOTNET_gcServer=0
                WORKDIR /workspace
                USER {SandboxUid}:{SandboxUid}
                ENTRYPOINT ["/app/genesis-agent"]
                """);
            foreach (var dir in new[] { "rootfs/", "rootfs/app/", "rootfs/tmp/", "rootfs/workspace/", "rootfs/run/", "rootfs/run/cyagents/", "rootfs/vsdbg/" })
                AddDirectory(tar, dir, dir == "rootfs/tmp/" ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                    UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead |
                    UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.StickyBit : DirMode);
            AddFile(tar, binary, "rootfs/app/genesis-agent", ExecMode);
            var pdb = Path.ChangeExtension(binary, ".pdb");
            if (File.Exists(pdb)) AddFile(tar, pdb, "rootfs/app/genesis-agent.pdb", FileMode);
            var added = new HashSet<string>(StringComparer.Ordinal);
            foreach (var library in SharedLibraries(binary))
            {
                var target = "rootfs" + library;
                foreach (var parent in Parents(target))
                    if (added.Add(parent)) AddDirectory(tar, parent, DirMode);
                if (added.Add(target)) AddFile(tar, library, target, ExecMode);
            }
        }
        stream.Position = 0;
        return stream;
    }

    /// <summary>Absolute paths of the shared libraries (and the loader) that <c>ldd</c> resolves for the binary.</summary>
    public static IReadOnlyList<string> SharedLibraries(string binary)
    {
        var psi = new ProcessStartInfo("ldd") { ArgumentList = { binary }, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start ldd");
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"ldd {binary} failed: {process.StandardError.ReadToEnd()}");
        var paths = new List<string>();
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            var part = raw.Contains("=>") ? raw[(raw.IndexOf("=>", StringComparison.Ordinal) + 2)..].Trim() : raw;
            var path = part.Split(' ')[0];
            if (path.StartsWith('/')) paths.Add(path);
        }
        return paths;
    }

    private static IEnumerable<string> Parents(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 1; i < parts.Length; i++) yield return string.Join('/', parts[..i]) + "/";
    }

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode ExecMode = FileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const UnixFileMode DirMode = ExecMode;

    private static void AddDirectory(TarWriter tar, string name, UnixFileMode mode) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode });

    private static void AddFile(TarWriter tar, string source, string name, UnixFileMode mode)
    {
        using var data = File.OpenRead(source);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = mode, DataStream = data });
    }

    private static void AddText(TarWriter tar, string name, string text) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = FileMode, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
}
