using System.Text.Json.Serialization;

namespace CyAgents.Orchestrator.Sandbox;

// Wire shapes of the Docker Engine API v1.41 that the orchestrator uses. Property names are the
// engine's own (PascalCase), so the default System.Text.Json naming matches them.

/// <summary>What <c>GET /info</c> reports that capacity planning needs.</summary>
public sealed record EngineInfo(int NCPU, long MemTotal, string? ServerVersion, string? OperatingSystem);

/// <summary>The body of <c>POST /containers/create</c>.</summary>
public sealed record ContainerSpec
{
    public required string Image { get; init; }
    /// <summary>Replaces the image's entrypoint; the engine then ignores the image's Cmd too (the command is exactly this argv).</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public bool NetworkDisabled { get; init; }
    public required HostConfig HostConfig { get; init; }
}

/// <summary>Caps, mounts and hardening of a container.</summary>
public sealed record HostConfig
{
    public IReadOnlyList<string>? Binds { get; init; }
    public long Memory { get; init; }
    public long MemorySwap { get; init; }
    public long NanoCpus { get; init; }
    public long? PidsLimit { get; init; }
    public bool ReadonlyRootfs { get; init; }
    public IReadOnlyDictionary<string, string>? Tmpfs { get; init; }
    public IReadOnlyList<string>? CapDrop { get; init; }
    public IReadOnlyList<string>? SecurityOpt { get; init; }
    public string? NetworkMode { get; init; }
    public bool AutoRemove { get; init; }
    public long? ShmSize { get; init; }
    public IReadOnlyList<Ulimit>? Ulimits { get; init; }
    public LogConfig? LogConfig { get; init; }
}

/// <summary>The body of <c>POST /containers/{id}/update</c>: the caps a lease's next bundle sets on its running container.</summary>
public sealed record ContainerUpdate(long NanoCpus, long Memory, long MemorySwap, long PidsLimit);

/// <summary>A resource limit of the container's processes (setrlimit).</summary>
public sealed record Ulimit(string Name, long Soft, long Hard);

/// <summary>The engine's own logging of the container (its driver and the driver's options).</summary>
public sealed record LogConfig(string Type, IReadOnlyDictionary<string, string>? Config);

/// <summary>The parts of <c>GET /containers/{id}/json</c> the orchestrator reads.</summary>
public sealed record ContainerInspect
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public ContainerState State { get; init; } = new();
    public ContainerConfigView Config { get; init; } = new();
    public HostConfig HostConfig { get; init; } = new();
    public IReadOnlyList<MountView> Mounts { get; init; } = [];
}

/// <summary>Runtime state of a container.</summary>
public sealed record ContainerState
{
    public string Status { get; init; } = "";
    public bool Running { get; init; }
    public bool OOMKilled { get; init; }
    public int ExitCode { get; init; }
    public string? Error { get; init; }
    public string? StartedAt { get; init; }
    public string? FinishedAt { get; init; }
}

/// <summary>The configuration a container was created with, as the engine reports it.</summary>
public sealed record ContainerConfigView
{
    public string? User { get; init; }
    public string? Image { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>One mount of a container.</summary>
public sealed record MountView
{
    public string? Type { get; init; }
    public string? Source { get; init; }
    public string? Destination { get; init; }
    public bool RW { get; init; }
}

/// <summary>One row of <c>GET /containers/json</c>.</summary>
public sealed record ContainerSummary
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Names { get; init; } = [];
    public string? State { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>The parts of <c>GET /images/{name}/json</c> the image builder reads.</summary>
public sealed record ImageInspect
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string>? RepoTags { get; init; }
    public long Size { get; init; }
    public ImageConfig? Config { get; init; }
}

/// <summary>The parts of an image's configuration the runtime tests read.</summary>
public sealed record ImageConfig
{
    public string? User { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public string? WorkingDir { get; init; }
}

/// <summary>One entry of <c>GET /images/json</c>.</summary>
public sealed record ImageSummary
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string>? RepoTags { get; init; }
    public long Size { get; init; }
    public long Created { get; init; }
}

/// <summary>One line of a container's output.</summary>
/// <param name="Stream">stdout or stderr.</param>
/// <param name="Text">The line, without its newline.</param>
public sealed record LogLine(string Stream, string Text);

internal sealed record CreateResponse(string Id, IReadOnlyList<string>? Warnings);

internal sealed record WaitResponse(long StatusCode, WaitError? Error);

internal sealed record WaitError(string? Message);

internal sealed record EngineError(string? Message);

internal sealed record BuildMessage
{
    [JsonPropertyName("stream")] public string? Stream { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("aux")] public BuildAux? Aux { get; init; }
}

internal sealed record BuildAux([property: JsonPropertyName("ID")] string? Id);
