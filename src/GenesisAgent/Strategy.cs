using CyAgents.Contracts;
using System.Text.Json;
using CyAgents.Contracts.Sandbox;

namespace CyAgents.GenesisAgent;

/// <summary>
/// How the agent behaves, read from <c>/workspace/strategy.json</c> (template: workspaces/genesis/strategy.json).
/// Everything has a safe default so an empty file is a valid, modest strategy. The properties have setters, not
/// <c>init</c>: the JSON source generator sets every init-only property, so an absent one lost its default and read as 0
/// or null (dotnet/runtime#84484).
/// </summary>
public sealed record Strategy
{
    public const string FileName = "strategy.json";

    /// <summary>The default bundle; also what an explicit <c>"bundle": null</c> means.</summary>
    public static readonly ResourceBundleDto DefaultBundle = new(250, 128, 0, 0);

    /// <summary>
    /// Reads a strategy file's text. An absent property keeps its default; an explicit null for a value the agent cannot do
    /// without (the bundle, the model) means the default too, because agents and their parents rewrite these files by hand and
    /// a null there once crashed the agent before its first bid.
    /// </summary>
    /// <exception cref="JsonException">The text is not a valid strategy.</exception>
    public static Strategy Parse(string json)
    {
        var strategy = JsonSerializer.Deserialize(json, AgentJson.Default.Strategy) ?? new Strategy();
        return strategy with
        {
            Bundle = strategy.Bundle ?? DefaultBundle,
            LlmModel = strategy.LlmModel ?? "echo",
        };
    }

    /// <summary>Share of the available balance offered per bid, in (0, 1].</summary>
    public double BidFraction { get; set; } = 0.1;
    /// <summary>Bid at least this many credits (when the balance allows).</summary>
    public long MinBid { get; set; } = 1;
    /// <summary>The bundle to ask for next cycle.</summary>
    public ResourceBundleDto Bundle { get; set; } = DefaultBundle;
    /// <summary>Spawn a child once the available balance exceeds this; null never spawns.</summary>
    public long? SpawnThreshold { get; set; }
    /// <summary>Credits handed to a child at birth.</summary>
    public long ChildEndowment { get; set; } = 1000;
    /// <summary>How many children this agent spawns over its life.</summary>
    public int MaxChildren { get; set; } = 1;
    /// <summary>The strategy the child starts with (written to its workspace); null gives it the template's.</summary>
    public JsonElement? ChildStrategy { get; set; }
    /// <summary>
    /// A question for the human, posted once per execution whose won bundle has attention (bid for some in
    /// <see cref="Bundle"/>: a prompt costs it, ADR 0135); null asks nothing.
    /// </summary>
    public string? Prompt { get; set; }
    /// <summary>
    /// A question for the LLM gateway, asked once per execution when the won bundle has tokens; the answer goes to the
    /// journal and the log. It informs, it does not decide: the bid stays a function of balance and strategy, so the
    /// agent is deterministic under the echo and scripted providers (and any other).
    /// </summary>
    public string? LlmQuestion { get; set; }
    /// <summary>The model asked (one of <c>GET /v1/models</c>).</summary>
    public string LlmModel { get; set; } = "echo";
    /// <summary>Most completion tokens per question.</summary>
    public int LlmMaxTokens { get; set; } = 64;
    /// <summary>
    /// Do the open tasks that say which file to write and what it holds (<c>file:</c> and <c>content:</c> lines, as in
    /// tasks/feed.json), and hand them in; at most <see cref="MaxTasksPerTurn"/> per execution.
    /// </summary>
    public bool DoTasks { get; set; } = true;
    /// <summary>Most tasks handed in per execution (the API keeps at most 4 waiting per agent by default).</summary>
    public int MaxTasksPerTurn { get; set; } = 4;
    /// <summary>TEST ONLY: misbehaviours used by the sandbox's end-to-end tests. Never set in real strategies.</summary>
    public Misbehaviour? Test { get; set; }
}

/// <summary>TEST ONLY: ways an agent can try to break out of its caps; each is tried, reported, and survived or not.</summary>
public sealed record Misbehaviour
{
    /// <summary>Allocate and touch this many MiB (beyond the memory cap to provoke the kernel).</summary>
    public int AllocateMiB { get; set; }
    /// <summary>Spin for this many seconds (past the window to provoke a kill).</summary>
    public int BusyLoopSeconds { get; set; }
    /// <summary>Try a TCP connection to host:port (a TEST-NET address such as 192.0.2.1:80).</summary>
    public string? ConnectTo { get; set; }
    /// <summary>Try to read this file (another agent's workspace path).</summary>
    public string? ReadPath { get; set; }
}
