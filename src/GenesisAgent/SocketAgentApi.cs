using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using CyAgents.Contracts.Sandbox;

namespace CyAgents.GenesisAgent;

/// <summary>The System API over the unix socket mounted into the sandbox (the container has no network).</summary>
public sealed class SocketAgentApi : IAgentApi, IDisposable
{
    private readonly HttpClient _http;
    private readonly string _socket;

    public SocketAgentApi(string socketPath, string token)
    {
        _socket = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<PricesView> GetPricesAsync(CancellationToken ct) => GetAsync("market/prices", ApiJson.Default.PricesView, ct);

    public Task<BalanceView> GetBalanceAsync(CancellationToken ct) => GetAsync("economy/balance", ApiJson.Default.BalanceView, ct);

    public async Task<string> PlaceBidAsync(long cycle, BundleView bundle, long amount, string idempotencyKey, CancellationToken ct) =>
        (await PostAsync("bids", JsonContent.Create(new BidBody(cycle, bundle, amount), ApiJson.Default.BidBody), idempotencyKey, ct)).Id;

    public async Task<string> SpawnAsync(string name, long endowment, System.Text.Json.JsonElement? strategy, string idempotencyKey, CancellationToken ct) =>
        (await PostAsync("agents/spawn", JsonContent.Create(new SpawnBody(name, endowment, strategy), ApiJson.Default.SpawnBody), idempotencyKey, ct)).Id;

    public async Task<string> PostPromptAsync(string question, string idempotencyKey, CancellationToken ct) =>
        (await PostAsync("prompts", JsonContent.Create(new PromptBody(question), ApiJson.Default.PromptBody), idempotencyKey, ct)).Id;

    private async Task<T> GetAsync<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), ct);
        return await response.Content.ReadFromJsonAsync(type, ct) ?? throw new AgentApiException($"GET {path}: empty answer");
    }

    private async Task<IdBody> PostAsync(string path, HttpContent body, string idempotencyKey, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await SendAsync(request, ct);
        return await response.Content.ReadFromJsonAsync(ApiJson.Default.IdBody, ct) ?? throw new AgentApiException($"POST {path}: empty answer");
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ApiUnreachableException(_socket, e.InnerException ?? e);
        }
        finally
        {
            request.Dispose();
        }
        if (response.IsSuccessStatusCode) return response;
        var detail = await response.Content.ReadAsStringAsync(ct);
        response.Dispose();
        throw new AgentApiException($"{request.Method} {request.RequestUri}: {(int)response.StatusCode} {detail}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The API answered with an error.</summary>
public sealed class AgentApiException(string message) : Exception(message);

internal sealed record BidBody(long Cycle, BundleView Bundle, long Amount);
internal sealed record SpawnBody(string Name, long Endowment, System.Text.Json.JsonElement? Strategy);
internal sealed record PromptBody(string Question);
internal sealed record IdBody(string Id);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(PricesView))]
[JsonSerializable(typeof(BalanceView))]
[JsonSerializable(typeof(BidBody))]
[JsonSerializable(typeof(SpawnBody))]
[JsonSerializable(typeof(PromptBody))]
[JsonSerializable(typeof(IdBody))]
internal sealed partial class ApiJson : JsonSerializerContext;
