using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using CyAgents.Economy.Resources;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>
/// The API in-process with a running execution that won some tokens, and the official OpenAI .NET library pointed at it
/// (base URL <c>{api}/v1</c>, the execution token as API key, the library's own retries off so each test sees one call).
/// </summary>
public sealed class LlmWorld : IAsyncDisposable
{
    private LlmWorld(ApiFactory api, string token, string executionId)
    {
        Api = api;
        Token = token;
        ExecutionId = executionId;
    }

    public ApiFactory Api { get; }
    public string Token { get; }
    public string ExecutionId { get; }

    public static async Task<LlmWorld> StartAsync(long grantedTokens, IDictionary<string, string?>? settings = null,
        string agentId = "alice", string executionId = "exe-llm")
    {
        var api = new ApiFactory(settings);
        var token = await api.AgentTokenAsync(agentId, 0, executionId: executionId);
        await using var db = await api.DbAsync();
        db.Add(new ExecutionRecord
        {
            Id = executionId, AgentId = agentId, Cycle = 1, Status = ExecutionStatus.Running, Granted = ResourceBundle.Create(tokens: grantedTokens),
        });
        await db.SaveChangesAsync();
        return new LlmWorld(api, token, executionId);
    }

    public OpenAIClientOptions ClientOptions() => new()
    {
        Endpoint = new Uri("http://localhost/v1"),
        Transport = new HttpClientPipelineTransport(Api.ClientWith(null)),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    };

    public ChatClient Chat(string model = "echo", string? key = null) => new(model, new ApiKeyCredential(key ?? Token), ClientOptions());

    public EmbeddingClient Embeddings(string model) => new(model, new ApiKeyCredential(Token), ClientOptions());

    public async Task<long> TokensUsedAsync()
    {
        await using var db = await Api.DbAsync();
        return (await db.Set<ExecutionRecord>().AsNoTracking().SingleAsync(e => e.Id == ExecutionId)).TokensUsed;
    }

    public async Task<List<LlmCallRecord>> CallsAsync()
    {
        await using var db = await Api.DbAsync();
        return (await db.Set<LlmCallRecord>().AsNoTracking().Where(c => c.ExecutionId == ExecutionId).ToListAsync()).OrderBy(c => c.Id).ToList();
    }

    /// <summary>The gateway's call events of this execution in system.log (the sink is async: waits up to 10 s for <paramref name="atLeast"/>).</summary>
    public async Task<List<JsonElement>> CallEventsAsync(int atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var found = new List<JsonElement>();
            if (File.Exists(Api.LogPath))
            {
                await using var stream = new FileStream(Api.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync() is { } line)
                {
                    var e = JsonDocument.Parse(line).RootElement;
                    if (e.GetProperty("Properties").TryGetProperty("CallId", out _) &&
                        e.GetProperty("Properties").TryGetProperty("ExecutionId", out var x) && x.GetString() == ExecutionId &&
                        e.GetProperty("Properties").TryGetProperty("TokensCharged", out _))
                        found.Add(e.Clone());
                }
            }
            if (found.Count >= atLeast || DateTime.UtcNow > deadline) return found;
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync() => await Api.DisposeAsync();
}
