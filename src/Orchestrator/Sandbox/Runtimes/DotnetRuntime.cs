namespace CyAgents.Orchestrator.Sandbox.Runtimes;

/// <summary>
/// The <c>dotnet</c> runtime (ADR 0105): the self-contained Genesis agent at <see cref="GenesisPath"/> (today's build, so
/// the genesis template's manifest runs it unchanged) and the host's .NET shared runtime from <c>/usr/share/dotnet</c> —
/// the <c>dotnet</c> muxer, <c>host/fxr</c> and <c>shared/Microsoft.NETCore.App</c>, without ASP.NET, the SDK, createdump
/// or the LTTng trace provider — so a user's framework-dependent <c>dotnet MyAgent.dll</c> runs too. Globalization is
/// invariant (no ICU, about 35 MB); OpenSSL's libssl and libcrypto are in, since .NET loads them for hashing. No shell.
/// </summary>
internal sealed class DotnetRuntime(Func<AgentImage> genesis, string dotnetRoot = DotnetRuntime.DefaultRoot) : IRuntimeRecipe
{
    public const string DefaultRoot = "/usr/share/dotnet";
    /// <summary>Where the Genesis agent is in the image.</summary>
    public const string GenesisPath = "/app/genesis-agent";
    private const string Recipe = "dotnet-runtime-v1";
    private static readonly string[] SkippedRuntimeFiles = ["createdump", "libcoreclrtraceptprovider.so"];
    private static readonly string[] LibraryFolders = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"];
    // Loaded with dlopen by System.Security.Cryptography.Native.OpenSsl, so ldd does not list them.
    private static readonly string[] OpenSsl = ["libssl.so.3", "libcrypto.so.3"];

    public string Name => "dotnet";

    public string Summary => "the Genesis agent (self-contained) and the host's .NET shared runtime (dotnet MyAgent.dll); no shell";

    public RuntimeContent List(string sourceRoot, int uid)
    {
        var muxer = Path.Combine(dotnetRoot, "dotnet");
        var shared = Path.Combine(dotnetRoot, "shared", "Microsoft.NETCore.App");
        if (!File.Exists(muxer) || !Directory.Exists(shared))
            throw new InvalidOperationException($"no .NET runtime under {dotnetRoot} (dotnet and shared/Microsoft.NETCore.App); install the .NET SDK there");
        var content = new RuntimeContent();
        content.Facts.Add(Recipe);
        // The Genesis binary is published at build time; its sources (and the build settings) stand for it here.
        content.Facts.Add("genesis-sources=" + AgentImage.SourceHash(sourceRoot));
        content.Files.Add((muxer, muxer));
        content.Linked.Add(muxer);
        content.AddTree(Path.Combine(dotnetRoot, "host", "fxr"), _ => false);
        content.AddTree(shared, relative => SkippedRuntimeFiles.Contains(relative.Split('/')[^1], StringComparer.Ordinal));
        content.Linked.AddRange(content.Files.Select(f => f.Host).Where(h => h.EndsWith(".so", StringComparison.Ordinal)));
        foreach (var library in OpenSsl)
        {
            var found = LibraryFolders.Select(d => Path.Combine(d, library)).FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException($"{library} is missing; install Debian's libssl3");
            content.Files.Add((found, found));
            content.Linked.Add(found);
        }
        content.Links.Add(("/usr/bin/dotnet", "../share/dotnet/dotnet"));
        content.Directories.AddRange(["/app", "/workspace", "/run/cyagents", "/vsdbg", "/dev", "/proc", "/etc"]);
        content.WritableDirectories.Add("/tmp");
        content.Dockerfile = $"""
            FROM scratch
            COPY rootfs/ /
            LABEL cyagents.runtime=dotnet
            ENV HOME=/tmp TMPDIR=/tmp PATH=/usr/bin DOTNET_ROOT={dotnetRoot} DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_BUNDLE_EXTRACT_BASE_DIR=/tmp DOTNET_gcServer=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
            WORKDIR /workspace
            USER {uid}:{uid}
            ENTRYPOINT []
            CMD ["{GenesisPath}"]
            """;
        return content;
    }

    public async Task PrepareAsync(RuntimeContent content, string sourceRoot, Action<string> progress, CancellationToken ct)
    {
        progress("dotnet: publishing the Genesis agent (self-contained; cached by its sources)");
        var binary = await genesis().PublishAsync(ct);
        content.Files.Add((binary, GenesisPath));
        content.Linked.Add(binary);
        var pdb = Path.ChangeExtension(binary, ".pdb");
        if (File.Exists(pdb)) content.Files.Add((pdb, GenesisPath + ".pdb"));
    }
}
