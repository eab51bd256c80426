using System.Text.Json.Nodes;

namespace CyAgents.SystemApi.Llm;

/// <summary>Which OpenAI route a request is for.</summary>
public enum LlmRoute
{
    /// <summary><c>POST /v1/chat/completions</c>.</summary>
    Chat,
    /// <summary><c>POST /v1/embeddings</c>.</summary>
    Embeddings,
}

/// <summary>
/// A provider behind the gateway. It receives the request body as the gateway will forward it (the completion limit
/// set, <c>stream_options.include_usage</c> forced on for streams) and answers in the OpenAI wire format.
/// Failures it can tell apart are answers with a status (429, 5xx); an unreachable server throws.
/// </summary>
public interface ILlmProvider
{
    /// <summary>The configured name (records, logs, <c>owned_by</c>).</summary>
    string Name { get; }

    /// <summary>The settings it was made from (models, priority, timeout).</summary>
    LlmProviderOptions Options { get; }

    /// <summary>Whether it answers <see cref="LlmRoute.Embeddings"/>.</summary>
    bool ServesEmbeddings { get; }

    /// <summary>One attempt. The reply's events (streams) are read after this returns, under the caller's token.</summary>
    Task<UpstreamReply> SendAsync(LlmRoute route, JsonObject body, bool stream, CancellationToken ct);
}

/// <summary>
/// What one attempt produced: a status, and either a JSON body (an answer or an error) or, for a stream that began, the
/// events' <c>data</c> payloads up to <c>[DONE]</c>. Dispose it to release the upstream connection.
/// </summary>
public sealed class UpstreamReply : IAsyncDisposable
{
    /// <summary>HTTP status (200 for an answer).</summary>
    public required int Status { get; init; }

    /// <summary>The answer (not streamed) or the error body.</summary>
    public JsonNode? Body { get; init; }

    /// <summary>For a stream: each event's payload (without <c>data: </c>), ending before <c>[DONE]</c>.</summary>
    public IAsyncEnumerable<string>? Events { get; init; }

    /// <summary>The provider's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>What holds the connection open (the upstream response).</summary>
    public IDisposable? Owner { get; init; }

    /// <summary>A failure worth retrying or failing over: 429 or 5xx.</summary>
    public bool Transient => Status == 429 || Status >= 500;

    /// <summary>A 2xx answer.</summary>
    public bool Succeeded => Status is >= 200 and < 300;

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Owner?.Dispose();
        return ValueTask.CompletedTask;
    }
}
