using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;

namespace CyAgents.GenesisAgent;

/// <summary>
/// The System API through the shared typed client (src/Contracts), over the unix socket mounted into the sandbox —
/// the container has no network. Connection failures become <see cref="ApiUnreachableException"/>.
/// </summary>
public sealed class SocketAgentApi(string socketPath, string token) : IAgentApi, IDisposable
{
    private readonly SystemApiClient _client = new(
        new HttpClient(new UnixSocketHttpHandler(socketPath)) { BaseAddress = new Uri("http://localhost"), Timeout = TimeSpan.FromSeconds(30) }, token);

    public Task<PricesView> GetPricesAsync(CancellationToken ct) => CallAsync(async () =>
    {
        var market = await _client.GetPricesAsync(ct);
        double Price(string kind) => market.Resources.FirstOrDefault(r => r.Kind == kind)?.Price ?? 0;
        return new PricesView(Price("cpu"), Price("memory"), Price("tokens"), Price("attention"));
    });

    public Task<BalanceView> GetBalanceAsync(CancellationToken ct) => CallAsync(async () =>
    {
        var balance = await _client.GetBalanceAsync(ct);
        return new BalanceView(balance.Posted, balance.Reserved, balance.Available);
    });

    // The API files every bid under its own next cycle; the agent's idea of it only goes to the journal.
    public Task<string> PlaceBidAsync(long cycle, ResourceBundleDto bundle, long amount, string idempotencyKey, CancellationToken ct) =>
        CallAsync(async () => (await _client.PlaceBidAsync(new PlaceBidRequest(bundle, amount), idempotencyKey, ct)).Id);

    public Task<string> SpawnAsync(string name, long endowment, JsonElement? strategy, string idempotencyKey, CancellationToken ct) =>
        CallAsync(async () => (await _client.SpawnAsync(new SpawnRequest(name, endowment, strategy), idempotencyKey, ct)).Agent.Id);

    public Task<string> PostPromptAsync(string question, string idempotencyKey, CancellationToken ct) =>
        CallAsync(async () => (await _client.AskAsync(new AskPromptRequest(question), idempotencyKey, ct)).Id);

    public Task<(string Answer, long Tokens)> AskLlmAsync(string model, string question, int maxTokens, CancellationToken ct) =>
        CallAsync(async () =>
        {
            var answer = await _client.ChatAsync(new ChatCompletionRequest(model, [new ChatMessage("user", question)], maxTokens), ct);
            return (answer.Choices.FirstOrDefault()?.Message.Content ?? "", answer.Usage?.TotalTokens ?? 0);
        });

    public Task<IReadOnlyList<TaskResponse>> GetOpenTasksAsync(CancellationToken ct) =>
        CallAsync(async () => (await _client.GetTasksAsync("open", ct)).Items);

    public Task<string> SubmitAsync(string taskId, string path, string idempotencyKey, CancellationToken ct) =>
        CallAsync(async () => (await _client.SubmitWorkAsync(taskId, new SubmitWorkRequest(path), idempotencyKey, ct)).Id);

    private async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException e)
        {
            throw new ApiUnreachableException(socketPath, e.InnerException ?? e);
        }
        catch (SystemApiException e)
        {
            throw new AgentApiException(e.Message, e.Code);
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>The API answered with an error; <see cref="Code"/> is its stable code (Contracts/ErrorCodes.cs), when it sent one.</summary>
public sealed class AgentApiException(string message, string? code = null) : Exception(message)
{
    public string? Code { get; } = code;
}
