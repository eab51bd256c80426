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
public sealed record AgentManifest(
    string? Runtime,
    string? Image,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    EntryBid? EntryBid);

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
