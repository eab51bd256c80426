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
}
