using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;

namespace CyAgents.Orchestrator.Hosting;

/// <summary>Where a live run keeps its state and how it reaches the engine; the run command fills this from its options.</summary>
public sealed record LiveSettings
{
    /// <summary>Folder for the database, the API socket, the operator token and system.log.</summary>
    public string DataDirectory { get; init; } = "data";
    /// <summary>SQLite database file; default &lt;data&gt;/cyagents.db.</summary>
    public string? DatabasePath { get; init; }
    /// <summary>PostgreSQL connection string; when set it replaces SQLite.</summary>
    public string? PostgresConnectionString { get; init; }
    /// <summary>The one log; default &lt;data&gt;/system.log.</summary>
    public string? LogPath { get; init; }
    /// <summary>Per-agent workspaces.</summary>
    public string WorkspacesRoot { get; init; } = "workspaces";
    /// <summary>Template of the first agent (and of a workspace lost before its first execution).</summary>
    public string WorkspaceTemplate { get; init; } = "workspaces/genesis";
    /// <summary>Folder of named templates a spawn may name (<c>Workspaces:Templates</c>); default: the folder holding <see cref="WorkspaceTemplate"/>.</summary>
    public string? TemplatesFolder { get; init; }
    /// <summary>Loopback URLs the API also listens on (for humans); empty for the unix socket only.</summary>
    public string ApiUrls { get; init; } = "http://127.0.0.1:5080";
    /// <summary>The Docker engine's socket.</summary>
    public string EngineSocket { get; init; } = DockerEngine.DefaultSocket;
    /// <summary>Agent whose container is kept and which waits for a debugger.</summary>
    public string? DebugAgentId { get; init; }
    /// <summary>Host folder with vsdbg for the debugged agent.</summary>
    public string? DebuggerFolder { get; init; }
    /// <summary>Mirror system.log on the console in short lines.</summary>
    public bool ConsoleLog { get; init; } = true;
    /// <summary>Cycle settings given in code (tests, benchmarks); when null they come from the configuration's <c>Live</c> section.</summary>
    public LiveOptions? Live { get; init; }
    /// <summary>Wraps the Docker sandbox (benchmarks time launches with it).</summary>
    public Func<ISandbox, ISandbox>? SandboxDecorator { get; init; }
    /// <summary>Called on every authenticated agent request with its execution id (benchmarks time the first one).</summary>
    public Action<string, DateTimeOffset>? OnAgentRequest { get; init; }
    /// <summary>
    /// Configuration keys added last, so they win over appsettings.json and environment variables: the run command's
    /// options (<c>Live:Mechanism</c>, ...), tests, benchmarks.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Configuration { get; init; } = new Dictionary<string, string?>();

    public string Database => DatabasePath ?? Path.Combine(DataDirectory, "cyagents.db");
    public string Log => LogPath ?? Path.Combine(DataDirectory, "system.log");
    public string ApiSocket => Path.Combine(DataDirectory, "api", "api.sock");
}
