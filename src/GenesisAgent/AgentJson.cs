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

/// <summary>What the agent remembers between executions (kept in <c>/workspace/memory.json</c>).</summary>
public sealed record AgentMemory
{
    public const string FileName = "memory.json";

    /// <summary>Executions so far.</summary>
    public int Runs { get; init; }
    /// <summary>Ids of the children spawned.</summary>
    public IReadOnlyList<string> Children { get; init; } = [];
}
