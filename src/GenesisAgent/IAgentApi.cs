using CyAgents.Contracts;
using System.Text.Json;
using CyAgents.Contracts.Sandbox;

namespace CyAgents.GenesisAgent;

/// <summary>The System API as the agent uses it; the real one speaks HTTP over the mounted unix socket.</summary>
public interface IAgentApi
{
    Task<PricesView> GetPricesAsync(CancellationToken ct);
    Task<BalanceView> GetBalanceAsync(CancellationToken ct);
    /// <summary>Places a bid for <paramref name="cycle"/>; returns the bid id.</summary>
    Task<string> PlaceBidAsync(long cycle, ResourceBundleDto bundle, long amount, string idempotencyKey, CancellationToken ct);
    /// <summary>Spawns a child endowed from this agent's credits; returns the child's id.</summary>
    Task<string> SpawnAsync(string name, long endowment, JsonElement? strategy, string idempotencyKey, CancellationToken ct);
    /// <summary>Posts a question for the human; returns the prompt id.</summary>
    Task<string> PostPromptAsync(string question, string idempotencyKey, CancellationToken ct);
    /// <summary>Asks the LLM gateway (<c>/v1/chat/completions</c>); returns the answer's text and the tokens it was charged.</summary>
    Task<(string Answer, long Tokens)> AskLlmAsync(string model, string question, int maxTokens, CancellationToken ct);
    /// <summary>Open tasks (<c>GET /v1/tasks</c>), oldest first.</summary>
    Task<IReadOnlyList<TaskResponse>> GetOpenTasksAsync(CancellationToken ct);
    /// <summary>Hands in a workspace file for a task (<c>POST /v1/tasks/{id}/submissions</c>); returns the submission id.</summary>
    Task<string> SubmitAsync(string taskId, string path, string idempotencyKey, CancellationToken ct);
}

/// <summary>The API could not be reached at all (socket missing, refused, permission denied).</summary>
public sealed class ApiUnreachableException(string socket, Exception inner)
    : Exception($"cannot reach the System API on {socket}: {inner.Message}", inner);
