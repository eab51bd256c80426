using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CyAgents.SystemApi.Llm;

/// <summary>The pieces of the OpenAI wire format the local providers write and the gateway reads.</summary>
public static class OpenAiJson
{
    /// <summary>Reading a body: duplicate properties are refused rather than one of them silently winning.</summary>
    public static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    /// <summary>Token estimate of the local providers: about four characters per token.</summary>
    public static long Estimate(string text) => (text.Length + 3) / 4;

    /// <summary>The text of a message's content: a string, or the text parts of an array.</summary>
    public static string TextOf(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Concat(parts.OfType<JsonObject>()
            .Where(p => p["type"]?.GetValueKind() == JsonValueKind.String && (string?)p["type"] == "text")
            .Select(p => p["text"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : "")),
        _ => "",
    };

    /// <summary>The last user message's text.</summary>
    public static string LastUserText(JsonObject body) =>
        (body["messages"] as JsonArray)?.OfType<JsonObject>().LastOrDefault(m => (string?)m["role"] == "user") is { } last
            ? TextOf(last["content"]) : "";

    /// <summary>All messages' text, concatenated (what the local providers count as the prompt).</summary>
    public static string AllText(JsonObject body) =>
        string.Concat((body["messages"] as JsonArray)?.OfType<JsonObject>().Select(m => TextOf(m["content"])) ?? []);

    /// <summary>The completion limit of a forwarded body (<c>max_completion_tokens</c> or <c>max_tokens</c>).</summary>
    public static int? CompletionLimit(JsonObject body) =>
        body["max_completion_tokens"] is JsonValue a && a.TryGetValue<int>(out var x) ? x
        : body["max_tokens"] is JsonValue b && b.TryGetValue<int>(out var y) ? y : null;

    /// <summary>A usage object.</summary>
    public static JsonObject Usage(long prompt, long completion) => new()
    {
        ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion,
    };

    /// <summary>Reads <c>usage</c> (prompt, completion) from an answer or chunk; null when absent or not numbers.</summary>
    public static (long Prompt, long Completion)? UsageOf(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("usage", out var u) || u.ValueKind != JsonValueKind.Object) return null;
        static long Count(JsonElement u, string name) =>
            u.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n >= 0 ? n : 0;
        if (!u.TryGetProperty("prompt_tokens", out _) && !u.TryGetProperty("total_tokens", out _)) return null;
        var prompt = Count(u, "prompt_tokens");
        var completion = Count(u, "completion_tokens");
        // Embeddings report only prompt and total; a total above the parts is charged whole.
        var total = Count(u, "total_tokens");
        if (total > prompt + completion) completion = total - prompt;
        return (prompt, completion);
    }

    /// <summary>Usage of a JSON node answer.</summary>
    public static (long Prompt, long Completion)? UsageOf(JsonNode? answer)
    {
        if (answer is not JsonObject) return null;
        using var doc = JsonDocument.Parse(answer.ToJsonString());
        return UsageOf(doc.RootElement);
    }

    /// <summary>A whole chat completion.</summary>
    public static JsonObject Completion(string id, string model, JsonObject message, string finish, long prompt, long completion) => new()
    {
        ["id"] = id, ["object"] = "chat.completion", ["created"] = 0, ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = finish }),
        ["usage"] = Usage(prompt, completion),
    };

    /// <summary>One streamed chunk with a delta (or with usage only, and no choices).</summary>
    public static string Chunk(string id, string model, JsonObject? delta, string? finish, JsonObject? usage = null)
    {
        var chunk = new JsonObject { ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = 0, ["model"] = model };
        chunk["choices"] = delta is null
            ? new JsonArray()
            : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish });
        chunk["usage"] = usage;
        return chunk.ToJsonString();
    }

    /// <summary>Splits a text into stream pieces of about <paramref name="size"/> characters.</summary>
    public static IEnumerable<string> Pieces(string text, int size = 16)
    {
        for (var i = 0; i < text.Length; i += size) yield return text.Substring(i, Math.Min(size, text.Length - i));
    }

    /// <summary>Bytes of a JSON node, UTF-8.</summary>
    public static byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());
}
