using CyAgents.Economy.Resources;

namespace CyAgents.SystemApi.Agents;

/// <summary>
/// What an agent template's <c>agent.json</c> says: how to run the agent and the entry bid it makes as a newcomer.
/// Read once, strictly, when an agent is created (from a template or by spawn) and stored with the agent, so the code in
/// the workspace may change but the runtime, command and environment an agent runs with are fixed at its creation.
/// Exactly one of <see cref="Runtime"/> and <see cref="Image"/> is set.
/// </summary>
/// <param name="Runtime">A built-in runtime name (<see cref="RuntimeNames"/>), or null when <see cref="Image"/> is set.</param>
/// <param name="Image">An image the engine already has, or null when <see cref="Runtime"/> is set.</param>
/// <param name="Command">argv, run with <c>/workspace</c> as working directory; never empty.</param>
/// <param name="Env">Non-secret environment variables for every execution (names [A-Z_][A-Z0-9_]*, none starting with CYAGENTS_).</param>
/// <param name="EntryBid">The bid the agent makes before it has ever run; null takes the configured default.</param>
/// <param name="Kind">A job runs to exit within each window it wins; a service keeps its container while it keeps winning (ADR 0137).</param>
public sealed record AgentManifest(
    string? Runtime,
    string? Image,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    EntryBid? EntryBid,
    AgentKind Kind = AgentKind.Job);

/// <summary>How an agent's executions use their containers (manifest field <c>kind</c>, ADR 0137).</summary>
public enum AgentKind
{
    /// <summary>Every won window is a fresh container, run to exit and stopped at the window's end (the default).</summary>
    Job = 0,
    /// <summary>
    /// A long-running agent: at the window's end its container keeps running as a lease; a win in the next cycle resizes it
    /// in place to the new bundle, a loss preempts it (SIGTERM, then SIGKILL after the grace).
    /// </summary>
    Service = 1,
}

/// <summary>The manifest's names of the kinds.</summary>
public static class AgentKinds
{
    public const string Job = "job";
    public const string Service = "service";
}

/// <summary>A newcomer's first bid: what it offers and for which bundle (capped at its balance when placed).</summary>
public sealed record EntryBid(long Amount, ResourceBundle Bundle);

/// <summary>The runtimes the host can build offline (ADR: runtimes built from Debian's packages).</summary>
public static class RuntimeNames
{
    /// <summary>The .NET runtime; its image also carries the Genesis agent.</summary>
    public const string Dotnet = "dotnet";
    /// <summary>Debian's python3 with its standard library and the CyAgents SDK module, nothing else.</summary>
    public const string Python = "python";

    /// <summary>Every built-in runtime name.</summary>
    public static readonly IReadOnlyList<string> All = [Dotnet, Python];
}
