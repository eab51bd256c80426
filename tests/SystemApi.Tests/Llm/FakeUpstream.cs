using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>What the fake upstream does with the next request.</summary>
public abstract record UpstreamStep
{
    /// <summary>Answers (streams when asked to) and reports this usage.</summary>
    public sealed record Answer(string Text, long Prompt, long Completion, JsonArray? ToolCalls = null, int DelayMs = 0) : UpstreamStep;
    /// <summary>429 with a Retry-After in seconds.</summary>
    public sealed record TooMany(int RetryAfterSeconds) : UpstreamStep;
    /// <summary>A status with an OpenAI error body.</summary>
    public sealed record Fail(int Status) : UpstreamStep;
    /// <summary>Waits this long before answering (longer than the gateway's timeout).</summary>
    public sealed record Hang(TimeSpan Wait) : UpstreamStep;
    /// <summary>Streams these content chunks, then drops the connection (no usage, no [DONE]).</summary>
    public sealed record BreakStream(int Chunks) : UpstreamStep;
}

/// <summary>
/// A server on loopback speaking the OpenAI wire format (chat completions, streaming with a usage chunk, embeddings):
/// each request takes the next step of its script (the last step repeats), and every request is kept for assertions.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<UpstreamStep> _script = new();
    private UpstreamStep _last = new UpstreamStep.Answer("ok", 10, 2);

    public FakeUpstream(string name = "fake")
    {
        Name = name;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v1/chat/completions", Chat);
        _app.MapPost("/v1/embeddings", Embeddings);
        _app.StartAsync().GetAwaiter().GetResult();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = address.TrimEnd('/') + "/v1";
    }

    public string Name { get; }
    public string BaseUrl { get; }
    public ConcurrentQueue<(JsonObject Body, string? Authorization)> Requests { get; } = new();
    public int Count => Requests.Count;

    public FakeUpstream Then(params UpstreamStep[] steps)
    {
        foreach (var s in steps) _script.Enqueue(s);
        return this;
    }

    /// <summary>Settings for one openai-compatible provider pointing here.</summary>
    public Dictionary<string, string?> Provider(int index, string model, int priority = 0, string key = "sk-fake-upstream-key", int timeoutSeconds = 5) => new()
    {
        [$"Llm:Providers:{index}:Name"] = Name,
        [$"Llm:Providers:{index}:Kind"] = "openai-compatible",
        [$"Llm:Providers:{index}:BaseUrl"] = BaseUrl,
        [$"Llm:Providers:{index}:ApiKey"] = key,
        [$"Llm:Providers:{index}:Models:0"] = model,
        [$"Llm:Providers:{index}:Priority"] = priority.ToString(),
        [$"Llm:Providers:{index}:Embeddings"] = "true",
        [$"Llm:Providers:{index}:TimeoutSeconds"] = timeoutSeconds.ToString(),
    };

    private UpstreamStep Next()
    {
        if (_script.TryDequeue(out var step)) _last = step;
        return _last;
    }

    private async Task Chat(HttpContext http)
    {
        var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
        Requests.Enqueue((body, http.Request.Headers.Authorization.ToString()));
        var step = Next();
        var model = (string?)body["model"] ?? "";
        var stream = body["stream"]?.GetValue<bool>() == true;
        switch (step)
        {
            case UpstreamStep.TooMany t:
                http.Response.Headers.RetryAfter = t.RetryAfterSeconds.ToString();
                await Error(http, 429, "rate_limit_exceeded");
                return;
            case UpstreamStep.Fail f:
                await Error(http, f.Status, "server_error");
                return;
            case UpstreamStep.Hang h:
                await Task.Delay(h.Wait, http.RequestAborted).ContinueWith(_ => { });
                if (http.RequestAborted.IsCancellationRequested) return;
                await Error(http, 500, "too_late");
                return;
            case UpstreamStep.BreakStream b:
                http.Response.ContentType = "text/event-stream";
                for (var i = 0; i < b.Chunks; i++)
                    await Event(http, Chunk(model, new JsonObject { ["content"] = $"part{i} " }, null, null));
                await Task.Delay(200); // let the chunks be read before the reset (a reset drops unread data)
                http.Abort();
                return;
            case UpstreamStep.Answer a:
                if (a.DelayMs > 0) await Task.Delay(a.DelayMs);
                var usage = new JsonObject { ["prompt_tokens"] = a.Prompt, ["completion_tokens"] = a.Completion, ["total_tokens"] = a.Prompt + a.Completion };
                var finish = a.ToolCalls is null ? "stop" : "tool_calls";
                if (!stream)
                {
                    var message = new JsonObject { ["role"] = "assistant", ["content"] = a.ToolCalls is null ? a.Text : null };
                    if (a.ToolCalls is not null) message["tool_calls"] = a.ToolCalls.DeepClone();
                    await Json(http, 200, new JsonObject
                    {
                        ["id"] = "chatcmpl-fake", ["object"] = "chat.completion", ["created"] = 1, ["model"] = model,
                        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = finish }),
                        ["usage"] = usage,
                    });
                    return;
                }
                http.Response.ContentType = "text/event-stream";
                var withUsage = body["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
                await Event(http, Chunk(model, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, withUsage ? null : null));
                foreach (var word in a.Text.Split(' '))
                    await Event(http, Chunk(model, new JsonObject { ["content"] = word + " " }, null, null));
                await Event(http, Chunk(model, new JsonObject(), finish, null));
                if (withUsage) await Event(http, new JsonObject { ["id"] = "chatcmpl-fake", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model, ["choices"] = new JsonArray(), ["usage"] = usage });
                await http.Response.WriteAsync("data: [DONE]\n\n");
                return;
        }
    }

    private async Task Embeddings(HttpContext http)
    {
        var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
        Requests.Enqueue((body, http.Request.Headers.Authorization.ToString()));
        if (Next() is UpstreamStep.Answer a)
            await Json(http, 200, new JsonObject
            {
                ["object"] = "list", ["model"] = (string?)body["model"],
                ["data"] = new JsonArray(new JsonObject { ["object"] = "embedding", ["index"] = 0, ["embedding"] = new JsonArray(0.1, 0.2, 0.3) }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = a.Prompt, ["total_tokens"] = a.Prompt },
            });
        else await Error(http, 500, "server_error");
    }

    private static JsonObject Chunk(string model, JsonObject delta, string? finish, JsonObject? usage) => new()
    {
        ["id"] = "chatcmpl-fake", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }), ["usage"] = usage,
    };

    private static async Task Event(HttpContext http, JsonObject data)
    {
        await http.Response.WriteAsync("data: " + data.ToJsonString() + "\n\n");
        await http.Response.Body.FlushAsync();
    }

    private static Task Error(HttpContext http, int status, string code) => Json(http, status,
        new JsonObject { ["error"] = new JsonObject { ["message"] = $"fake upstream says {code}", ["type"] = "server_error", ["param"] = null, ["code"] = code } });

    private static async Task Json(HttpContext http, int status, JsonObject body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(body.ToJsonString()));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
