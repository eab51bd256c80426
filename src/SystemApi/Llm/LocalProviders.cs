using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace CyAgents.SystemApi.Llm;

/// <summary>
/// A provider that answers on the host with no network and the same answer for the same request: <c>echo</c> repeats
/// the last user message, <c>scripted</c> answers from its script. Both report usage (four characters per token, cut to
/// the completion limit) and stream in the OpenAI chunk format, so agents and tests see what a real provider sends.
/// </summary>
public sealed class LocalProvider(LlmProviderOptions options) : ILlmProvider
{
    /// <inheritdoc />
    public string Name => options.Name;

    /// <inheritdoc />
    public LlmProviderOptions Options => options;

    /// <inheritdoc />
    public bool ServesEmbeddings => options.Kind == LlmProviderKinds.Echo;

    /// <inheritdoc />
    public Task<UpstreamReply> SendAsync(LlmRoute route, JsonObject body, bool stream, CancellationToken ct)
    {
        var model = (string?)body["model"] ?? "";
        if (route == LlmRoute.Embeddings) return Task.FromResult(new UpstreamReply { Status = 200, Body = Embed(body, model) });
        var (text, tool) = Answer(body);
        var limit = OpenAiJson.CompletionLimit(body) ?? int.MaxValue;
        if (text.Length > (long)limit * 4) text = text[..(limit * 4)];
        var prompt = OpenAiJson.Estimate(OpenAiJson.AllText(body));
        var completion = tool is null ? OpenAiJson.Estimate(text) : Math.Min(limit, OpenAiJson.Estimate(tool.ToJsonString()));
        var id = "chatcmpl-" + Name + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body.ToJsonString())))[..16];
        var finish = tool is null ? (OpenAiJson.Estimate(text) >= limit ? "length" : "stop") : "tool_calls";
        if (stream)
            return Task.FromResult(new UpstreamReply { Status = 200, Events = Chunks(id, model, text, tool, finish, prompt, completion, ct) });
        var message = new JsonObject { ["role"] = "assistant", ["content"] = tool is null ? text : null, ["refusal"] = null };
        if (tool is not null) message["tool_calls"] = new JsonArray(tool);
        return Task.FromResult(new UpstreamReply { Status = 200, Body = OpenAiJson.Completion(id, model, message, finish, prompt, completion) });
    }

    private (string Text, JsonObject? Tool) Answer(JsonObject body)
    {
        var last = OpenAiJson.LastUserText(body);
        if (options.Kind == LlmProviderKinds.Echo) return ("echo: " + last, null);
        var reply = options.Script.FirstOrDefault(r => last.Contains(r.When, StringComparison.Ordinal));
        if (reply is null) return ("", null);
        if (reply.ToolName is null) return (reply.Reply, null);
        return ("", new JsonObject
        {
            ["id"] = "call_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(reply.ToolName + last)))[..12],
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = reply.ToolName, ["arguments"] = reply.ToolArguments },
        });
    }

    private static async IAsyncEnumerable<string> Chunks(string id, string model, string text, JsonObject? tool, string finish,
        long prompt, long completion, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        yield return OpenAiJson.Chunk(id, model, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
        if (tool is not null)
        {
            var call = (JsonObject)tool.DeepClone();
            call["index"] = 0;
            yield return OpenAiJson.Chunk(id, model, new JsonObject { ["tool_calls"] = new JsonArray(call) }, null);
        }
        foreach (var piece in OpenAiJson.Pieces(text))
        {
            ct.ThrowIfCancellationRequested();
            yield return OpenAiJson.Chunk(id, model, new JsonObject { ["content"] = piece }, null);
        }
        yield return OpenAiJson.Chunk(id, model, new JsonObject(), finish);
        yield return OpenAiJson.Chunk(id, model, null, null, OpenAiJson.Usage(prompt, completion));
    }

    /// <summary>Eight numbers from a hash of each input: the same text always gets the same vector.</summary>
    private static JsonObject Embed(JsonObject body, string model)
    {
        var inputs = body["input"] switch
        {
            JsonArray a => a.Select(x => x?.ToJsonString() ?? "").ToList(),
            var x => [x is JsonValue v && v.TryGetValue<string>(out var s) ? s : x?.ToJsonString() ?? ""],
        };
        var data = new JsonArray();
        for (var i = 0; i < inputs.Count; i++)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(inputs[i]));
            var vector = new JsonArray();
            for (var k = 0; k < 8; k++) vector.Add(Math.Round((hash[k] - 127.5) / 127.5, 6));
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = vector });
        }
        var tokens = inputs.Sum(OpenAiJson.Estimate);
        return new JsonObject
        {
            ["object"] = "list", ["data"] = data, ["model"] = model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
    }
}
