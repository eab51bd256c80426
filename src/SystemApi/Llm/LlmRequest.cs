using System.Text.Json;
using System.Text.Json.Nodes;
using CyAgents.Contracts;

namespace CyAgents.SystemApi.Llm;

/// <summary>
/// A refusal on the OpenAI routes: HTTP status, our stable code (<see cref="ErrorCodes"/>), a message, the offending
/// parameter and, for rate limits, when to retry. Written in OpenAI's error shape by <see cref="OpenAiErrors"/>.
/// </summary>
public sealed record LlmRefusal(int Status, string Code, string Message, string? Param = null, TimeSpan? RetryAfter = null)
{
    /// <summary>400 validation for one parameter.</summary>
    public static LlmRefusal Invalid(string param, string message) => new(400, ErrorCodes.Validation, $"{param}: {message}", param);
}

/// <summary>
/// A request to the gateway as it will be forwarded, with what metering needs: the model, the body (every field the
/// caller sent, passed through), whether it streams, the caller's completion limit and the prompt's upper bound.
/// </summary>
/// <param name="Route">Chat or embeddings.</param>
/// <param name="Model">The model asked for.</param>
/// <param name="Body">The body to forward (the gateway sets the completion limit and, for streams, include_usage).</param>
/// <param name="Stream">Whether the caller asked for server-sent events.</param>
/// <param name="IncludeUsage">Whether the caller asked for the final usage chunk.</param>
/// <param name="MaxTokens">The caller's completion limit per choice, when it gave one.</param>
/// <param name="LimitField">Which field carries the limit (<c>max_completion_tokens</c> or <c>max_tokens</c>).</param>
/// <param name="Choices">How many choices (<c>n</c>): each may use the completion limit.</param>
/// <param name="PromptBound">Most prompt tokens the request can count as (see <see cref="LlmRequests"/>).</param>
public sealed record LlmRequest(LlmRoute Route, string Model, JsonObject Body, bool Stream, bool IncludeUsage, int? MaxTokens,
    string LimitField, int Choices, long PromptBound);

/// <summary>
/// Reads the bodies of the OpenAI routes with our own parser (duplicate properties refused, unknown fields kept and
/// forwarded) and bounds the prompt. The bound is the body's UTF-8 length: byte-level BPE tokenizers (GPT, Llama,
/// Qwen, Mistral) never make more tokens than bytes, and the body holds every message, tool and schema the provider
/// counts, with more than the few tokens of per-message framing in its JSON punctuation. Non-text parts (images, audio)
/// add <see cref="LlmGatewayOptions.NonTextPartTokens"/> each.
/// </summary>
public static class LlmRequests
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    /// <summary>Parses a <c>/v1/chat/completions</c> body.</summary>
    public static LlmRequest Chat(ReadOnlySpan<byte> json, LlmGatewayOptions options, out LlmRefusal? refusal)
    {
        refusal = null;
        if (Parse(json, out refusal) is not { } body) return null!;
        var model = StringOf(body, "model", ref refusal);
        if (body["messages"] is not JsonArray { Count: > 0 } messages)
            return Fail(ref refusal, "messages", "must be a non-empty array of messages");
        long nonText = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not JsonObject m || m["role"] is not JsonValue r || !r.TryGetValue<string>(out var role) || !Roles.Contains(role))
                return Fail(ref refusal, $"messages[{i}].role", $"must be one of {string.Join(", ", Roles)}");
            if (m["content"] is JsonArray parts)
                nonText += parts.Count(p => p is JsonObject o && (string?)o["type"] is { } t && t != "text");
        }
        var stream = BoolOf(body, "stream", ref refusal);
        var includeUsage = false;
        if (body["stream_options"] is { } so)
        {
            if (so is not JsonObject streamOptions) return Fail(ref refusal, "stream_options", "must be an object");
            includeUsage = BoolOf(streamOptions, "include_usage", ref refusal, "stream_options.include_usage");
        }
        var maxTokens = LimitOf(body, "max_tokens", ref refusal);
        var maxCompletion = LimitOf(body, "max_completion_tokens", ref refusal);
        var choices = body["n"] is null ? 1 : LimitOf(body, "n", ref refusal, 16) ?? 1;
        if (refusal is not null) return null!;
        int? limit = maxTokens is null ? maxCompletion : maxCompletion is null ? maxTokens : Math.Min(maxTokens.Value, maxCompletion.Value);
        var field = maxCompletion is not null ? "max_completion_tokens" : "max_tokens";
        return new LlmRequest(LlmRoute.Chat, model!, body, stream, includeUsage, limit, field, choices,
            json.Length + nonText * options.NonTextPartTokens);
    }

    /// <summary>Parses a <c>/v1/embeddings</c> body.</summary>
    public static LlmRequest Embeddings(ReadOnlySpan<byte> json, out LlmRefusal? refusal)
    {
        refusal = null;
        if (Parse(json, out refusal) is not { } body) return null!;
        var model = StringOf(body, "model", ref refusal);
        if (refusal is not null) return null!;
        if (body["input"] is not (JsonValue or JsonArray { Count: > 0 }))
            return Fail(ref refusal, "input", "must be a string or a non-empty array");
        return new LlmRequest(LlmRoute.Embeddings, model!, body, false, false, null, "", 1, json.Length);
    }

    private static JsonObject? Parse(ReadOnlySpan<byte> json, out LlmRefusal? refusal)
    {
        refusal = null;
        try
        {
            // JsonDocument first: it refuses duplicate properties; JsonNode is the mutable copy we forward.
            using var doc = JsonDocument.Parse(json.ToArray(), OpenAiJson.Strict);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                refusal = LlmRefusal.Invalid("body", "must be a JSON object");
                return null;
            }
            return JsonObject.Create(doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            refusal = new LlmRefusal(400, ErrorCodes.Validation, "the body is not valid JSON: " + e.Message.Split('\n')[0]);
            return null;
        }
    }

    private static LlmRequest Fail(ref LlmRefusal? refusal, string param, string message)
    {
        refusal ??= LlmRefusal.Invalid(param, message);
        return null!;
    }

    private static string? StringOf(JsonObject body, string name, ref LlmRefusal? refusal)
    {
        if (body[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 and <= 200 } s) return s;
        refusal ??= LlmRefusal.Invalid(name, "is required: a string of 1 to 200 characters");
        return null;
    }

    private static bool BoolOf(JsonObject body, string name, ref LlmRefusal? refusal, string? param = null)
    {
        var node = body[name];
        if (node is null) return false;
        if (node.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return node.GetValue<bool>();
        refusal ??= LlmRefusal.Invalid(param ?? name, "must be true or false");
        return false;
    }

    private static int? LimitOf(JsonObject body, string name, ref LlmRefusal? refusal, int max = 1_000_000)
    {
        var node = body[name];
        if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
        // Numbers only: "100" as a string is refused rather than read, as strict parsing does everywhere in the API.
        if (node.GetValueKind() == JsonValueKind.Number && node.AsValue().TryGetValue<int>(out var n) && n >= 1 && n <= max) return n;
        refusal ??= LlmRefusal.Invalid(name, $"must be a whole number from 1 to {max}");
        return null;
    }
}
