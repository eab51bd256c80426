using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CyAgents.SystemApi.Llm;

/// <summary>
/// A server speaking the OpenAI API: <c>POST {BaseUrl}/chat/completions</c> and <c>{BaseUrl}/embeddings</c>, with the
/// host's key as the bearer token (the agent's token is never forwarded). Streams are read line by line; each event
/// must arrive within the provider's timeout.
/// </summary>
public sealed class OpenAiCompatibleProvider : ILlmProvider
{
    private const int MaxErrorBytes = 64 * 1024;
    private readonly HttpClient _http;
    private readonly Uri _chat, _embeddings;
    private readonly AuthenticationHeaderValue? _authorization;

    /// <summary>A provider sending through <paramref name="http"/> (its timeout is not used: the gateway's pipeline times attempts).</summary>
    public OpenAiCompatibleProvider(LlmProviderOptions options, HttpClient http)
    {
        Options = options;
        _http = http;
        var root = options.BaseUrl!.TrimEnd('/');
        _chat = new Uri(root + "/chat/completions");
        _embeddings = new Uri(root + "/embeddings");
        var key = options.ReadKey();
        _authorization = string.IsNullOrEmpty(key) ? null : new AuthenticationHeaderValue("Bearer", key);
    }

    /// <inheritdoc />
    public string Name => Options.Name;

    /// <inheritdoc />
    public LlmProviderOptions Options { get; }

    /// <inheritdoc />
    public bool ServesEmbeddings => Options.Embeddings;

    /// <inheritdoc />
    public async Task<UpstreamReply> SendAsync(LlmRoute route, JsonObject body, bool stream, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, route == LlmRoute.Chat ? _chat : _embeddings);
        request.Headers.Authorization = _authorization;
        request.Content = new ByteArrayContent(OpenAiJson.Bytes(body));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (stream) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        try
        {
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                var error = await ReadErrorAsync(response, ct);
                response.Dispose();
                return new UpstreamReply { Status = status, Body = error, RetryAfter = RetryAfterOf(response.Headers.RetryAfter) };
            }
            if (stream && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
                return new UpstreamReply { Status = status, Events = EventsAsync(response, ct), Owner = response };
            await using var content = await response.Content.ReadAsStreamAsync(ct);
            var answer = await JsonNode.ParseAsync(content, documentOptions: OpenAiJson.Strict, cancellationToken: ct);
            response.Dispose();
            if (!stream) return new UpstreamReply { Status = status, Body = answer };
            // A server that ignored "stream": its whole answer becomes one stream of two events.
            return new UpstreamReply { Status = status, Events = OneEventAsync(answer) };
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async IAsyncEnumerable<string> EventsAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(Options.TimeoutSeconds);
        await using var content = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(content);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        while (true)
        {
            idle.CancelAfter(timeout);
            var line = await reader.ReadLineAsync(idle.Token);
            if (line is null) throw new IOException("the provider's stream ended without [DONE]");
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue; // comments, event names, blank separators
            var payload = line.AsSpan(5).Trim().ToString();
            if (payload == "[DONE]") yield break;
            yield return payload;
        }
    }

    private static async IAsyncEnumerable<string> OneEventAsync(JsonNode? answer)
    {
        await Task.Yield();
        if (answer is JsonObject o)
        {
            var message = o["choices"]?[0]?["message"]?.DeepClone();
            var chunk = new JsonObject
            {
                ["id"] = o["id"]?.DeepClone(), ["object"] = "chat.completion.chunk", ["created"] = o["created"]?.DeepClone(),
                ["model"] = o["model"]?.DeepClone(),
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = message, ["finish_reason"] = o["choices"]?[0]?["finish_reason"]?.DeepClone() }),
            };
            yield return chunk.ToJsonString();
            yield return new JsonObject { ["id"] = o["id"]?.DeepClone(), ["object"] = "chat.completion.chunk", ["choices"] = new JsonArray(), ["usage"] = o["usage"]?.DeepClone() }.ToJsonString();
        }
    }

    private static async Task<JsonNode> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var buffer = new byte[MaxErrorBytes];
        var read = 0;
        await using var content = await response.Content.ReadAsStreamAsync(ct);
        int n;
        while (read < buffer.Length && (n = await content.ReadAsync(buffer.AsMemory(read), ct)) > 0) read += n;
        try
        {
            if (JsonNode.Parse(buffer.AsSpan(0, read)) is JsonObject { } o && o["error"] is JsonObject) return o;
        }
        catch (JsonException)
        {
            // not JSON: wrapped below
        }
        var text = System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Min(read, 500));
        return new JsonObject { ["error"] = new JsonObject { ["message"] = text, ["type"] = "upstream_error", ["param"] = null, ["code"] = null } };
    }

    private static TimeSpan? RetryAfterOf(RetryConditionHeaderValue? header) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };
}
