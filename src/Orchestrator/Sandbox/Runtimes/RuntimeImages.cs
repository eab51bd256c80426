using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CyAgents.SystemApi.Agents;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Sandbox.Runtimes;

/// <summary>Where runtime images come from and who runs in them.</summary>
public sealed record RuntimeImagesOptions
{
    /// <summary>Repository root (holds src/GenesisAgent and sdk/python); found from the current directory when null.</summary>
    public string? SourceRoot { get; init; }
    /// <summary>Where library lists and build contexts are kept; default &lt;root&gt;/.images.</summary>
    public string? CacheDirectory { get; init; }
    /// <summary>The USER of the images; the sandbox overrides it with each agent's own uid.</summary>
    public int Uid { get; init; } = AgentImage.SandboxUid;
}

/// <summary>A runtime's image as the engine has it, or would once built.</summary>
/// <param name="Runtime">The runtime's name.</param>
/// <param name="Tag">Its content-addressed tag, e.g. <c>cyagents/runtime-python:3f2a…</c>.</param>
/// <param name="Built">Whether the engine has that tag.</param>
/// <param name="SizeBytes">The image's size when built.</param>
/// <param name="Summary">What is inside, one line.</param>
public sealed record RuntimeImageStatus(string Runtime, string Tag, bool Built, long? SizeBytes, string Summary);

/// <summary>
/// The built-in runtimes (<see cref="RuntimeNames"/>) as images built offline from what this Debian host has (ADR 0104):
/// <c>FROM scratch</c> root file systems of host files and their <c>ldd</c> libraries, sent to the engine's
/// <c>POST /build</c>. The tag is a hash of everything that goes in — recipe version, every file's image path, size and
/// modification time (content for the repository's own files), the libraries' — so an unchanged runtime is never
/// rebuilt and a changed one gets a new tag; older tags of the same runtime are pruned after a build. One build at a time
/// in this process.
/// </summary>
public sealed class RuntimeImages : IRuntimeImages
{
    /// <summary>Image repository of a runtime: <c>cyagents/runtime-NAME</c>.</summary>
    public static string RepositoryOf(string runtime) => $"cyagents/runtime-{runtime}";

    /// <summary>Where the python runtime holds the repository's sdk/python/*.py; on its PYTHONPATH.</summary>
    public const string PythonSdkFolder = PythonRuntime.SdkFolder;

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private readonly DockerEngine _engine;
    private readonly RuntimeImagesOptions _options;
    private readonly ILogger _logger;
    private readonly IReadOnlyDictionary<string, IRuntimeRecipe> _recipes;
    // A tag once computed holds for this process: the check runs once per start, not once per launch.
    private readonly ConcurrentDictionary<string, string> _tags = new(StringComparer.Ordinal);

    public RuntimeImages(DockerEngine engine, RuntimeImagesOptions options, ILogger logger)
    {
        _engine = engine;
        _options = options;
        _logger = logger;
        var genesis = () => new AgentImage(engine, new AgentImageOptions { SourceRoot = Root }, logger);
        _recipes = new IRuntimeRecipe[] { new DotnetRuntime(genesis), new PythonRuntime() }.ToDictionary(r => r.Name, StringComparer.Ordinal);
    }

    private string Root => _options.SourceRoot ?? AgentImage.FindSourceRoot();
    private string Cache => _options.CacheDirectory ?? Path.Combine(Root, ".images");

    /// <summary>Every runtime this host can build, in <see cref="RuntimeNames.All"/> order.</summary>
    public IReadOnlyList<string> Names => RuntimeNames.All;

    /// <inheritdoc/>
    public Task<string> EnsureAsync(string runtime, CancellationToken ct = default) => EnsureAsync(runtime, null, ct);

    /// <summary>The image tag for <paramref name="runtime"/>, built if the engine lacks it; progress lines go to <paramref name="progress"/>.</summary>
    public async Task<string> EnsureAsync(string runtime, Action<string>? progress, CancellationToken ct = default)
    {
        var recipe = RecipeOf(runtime);
        var report = progress ?? (line => _logger.LogInformation("{Progress}", line));
        await Gate.WaitAsync(ct);
        try
        {
            var (tag, content) = Fingerprint(recipe);
            if (await _engine.InspectImageAsync(tag, ct) is not null) return tag;
            await BuildAsync(recipe, tag, content, report, ct);
            return tag;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The tag each runtime would have, and whether the engine has it; builds nothing.</summary>
    public async Task<IReadOnlyList<RuntimeImageStatus>> ListAsync(CancellationToken ct = default)
    {
        var list = new List<RuntimeImageStatus>();
        foreach (var name in Names)
        {
            var recipe = RecipeOf(name);
            var tag = TagOf(name);
            var image = await _engine.InspectImageAsync(tag, ct);
            list.Add(new RuntimeImageStatus(name, tag, image is not null, image?.Size, recipe.Summary));
        }
        return list;
    }

    /// <summary>The content-addressed tag of <paramref name="runtime"/> (cheap: folders and file metadata, no build).</summary>
    public string TagOf(string runtime) => _tags.TryGetValue(runtime, out var tag) ? tag : Fingerprint(RecipeOf(runtime)).Tag;

    private IRuntimeRecipe RecipeOf(string runtime) =>
        _recipes.TryGetValue(runtime, out var recipe) ? recipe : throw new UnknownRuntimeException(runtime, Names);

    /// <summary>
    /// Lists the runtime's content and hashes it. The <c>ldd</c> closure (one ldd call, about 0.4 s for python) is kept in
    /// the cache under the hash of the rest, so it runs once per change of the listed files, not on every start; the
    /// libraries' own sizes and times are hashed each time, so an upgraded libssl still makes a new tag.
    /// </summary>
    private (string Tag, RuntimeContent Content) Fingerprint(IRuntimeRecipe recipe)
    {
        var content = recipe.List(Root, _options.Uid);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => sha.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Add(RootFileSystem.Version);
        Add(content.Dockerfile);
        content.Facts.ForEach(Add);
        foreach (var (host, image) in content.Files)
        {
            var (size, ticks) = RuntimeContent.Stat(host);
            Add($"{image}\t{host}\t{size}\t{ticks}");
            if (content.HashedByContent.Contains(host)) sha.AppendData(File.ReadAllBytes(host));
        }
        foreach (var (image, target) in content.Links) Add($"{image} -> {target}");
        foreach (var dir in content.Directories.Concat(content.WritableDirectories)) Add(dir + "/");
        foreach (var linked in content.Linked) Add("linked " + linked);
        var listed = Convert.ToHexStringLower(sha.GetCurrentHash())[..16];
        foreach (var library in Libraries(recipe.Name, listed, content.Linked))
        {
            var (size, ticks) = RuntimeContent.Stat(library);
            Add($"lib {library}\t{size}\t{ticks}");
        }
        var tag = $"{RepositoryOf(recipe.Name)}:{Convert.ToHexStringLower(sha.GetHashAndReset())[..12]}";
        _tags[recipe.Name] = tag;
        return (tag, content);
    }

    private IReadOnlyList<string> Libraries(string runtime, string listed, IReadOnlyCollection<string> linked)
    {
        var file = Path.Combine(Cache, $"runtime-{runtime}-{listed}.libs");
        if (File.Exists(file)) return File.ReadAllLines(file).Where(l => l.StartsWith('/')).ToArray();
        var libraries = RuntimeContent.SharedLibraries(linked);
        Directory.CreateDirectory(Cache);
        foreach (var old in Directory.EnumerateFiles(Cache, $"runtime-{runtime}-*.libs")) File.Delete(old);
        var temporary = file + ".tmp";
        File.WriteAllLines(temporary, libraries);
        File.Move(temporary, file, overwrite: true);
        return libraries;
    }

    private async Task BuildAsync(IRuntimeRecipe recipe, string tag, RuntimeContent content, Action<string> progress, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        progress($"{recipe.Name}: building {tag}");
        await recipe.PrepareAsync(content, Root, progress, ct);
        var libraries = RuntimeContent.SharedLibraries(content.Linked);
        Directory.CreateDirectory(Cache);
        var contextFile = Path.Combine(Cache, $"runtime-{recipe.Name}.context.tar");
        await using (var output = new FileStream(contextFile, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose))
        {
            using (var rootfs = new RootFileSystem(output, content.Dockerfile))
            {
                foreach (var dir in content.Directories) rootfs.Directory(dir);
                foreach (var dir in content.WritableDirectories) rootfs.Directory(dir, worldWritable: true);
                foreach (var (host, image) in content.Files) rootfs.File(host, image);
                foreach (var (image, target) in content.Links) rootfs.Link(image, target);
                foreach (var library in libraries) rootfs.File(library, library);
                progress($"{recipe.Name}: context of {rootfs.Entries.Count} entries, {output.Length / 1048576.0:F1} MiB; sending it to the engine");
            }
            output.Position = 0;
            await _engine.BuildImageAsync(output, tag, ct);
        }
        var size = (await _engine.InspectImageAsync(tag, ct))?.Size ?? 0;
        progress($"{recipe.Name}: built {tag} ({size / 1048576.0:F1} MiB) in {stopwatch.Elapsed.TotalSeconds:F1} s");
        await PruneAsync(recipe.Name, tag, progress, ct);
    }

    /// <summary>Removes the other tags of the runtime's repository; one still used by a container stays until the next build.</summary>
    private async Task PruneAsync(string runtime, string current, Action<string> progress, CancellationToken ct)
    {
        foreach (var image in await _engine.ListImagesAsync(RepositoryOf(runtime), ct))
        {
            foreach (var old in (image.RepoTags ?? []).Where(t => t != current && t.StartsWith(RepositoryOf(runtime) + ":", StringComparison.Ordinal)))
            {
                try
                {
                    await _engine.RemoveImageAsync(old, ct);
                    progress($"{runtime}: pruned {old}");
                }
                catch (DockerEngineException e)
                {
                    _logger.LogInformation("Keeping {Image} for now: {Error}", old, e.Message);
                }
            }
        }
    }
}

/// <summary>A runtime name that is not built in; the message lists the ones that are.</summary>
public sealed class UnknownRuntimeException(string runtime, IReadOnlyList<string> known)
    : ArgumentException($"unknown runtime '{runtime}' (built in: {string.Join(", ", known)})")
{
    public string Runtime { get; } = runtime;
}
