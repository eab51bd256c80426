using System.Text.Json;
using System.Text.Json.Serialization;
using CyAgents.Contracts.Sandbox;

namespace CyAgents.GenesisAgent;

/// <summary>Source-generated JSON for the agent's own files, so the trimmed single-file binary needs no reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(AgentEnvironment))]
[JsonSerializable(typeof(Strategy))]
[JsonSerializable(typeof(AgentMemory))]
public sealed partial class AgentJson : JsonSerializerContext;

/// <summary>
/// What the agent remembers between executions (kept in <c>/workspace/memory.json</c>). Setters, not <c>init</c>, so an
/// absent property keeps its default under the source generator (see <see cref="Strategy"/>).
/// </summary>
public sealed record AgentMemory
{
    public const string FileName = "memory.json";

    /// <summary>Executions so far.</summary>
    public int Runs { get; set; }
    /// <summary>Ids of the children spawned.</summary>
    public IReadOnlyList<string> Children { get; set; } = [];
    /// <summary>
    /// Whose memory this is. A child's workspace starts as a copy of its parent's (ADR 0101), memory included: what the
    /// parent handed in is not the child's, so task records under another id are dropped. Null (an older file): this agent's.
    /// </summary>
    public string? Agent { get; set; }
    /// <summary>Tasks handed in (or refused for good): never handed in again.</summary>
    public IReadOnlyList<string> Submitted { get; set; } = [];
    /// <summary>Files this agent wrote for tasks; only these may be written again for a later task.</summary>
    public IReadOnlyList<string> TaskFiles { get; set; } = [];
}
