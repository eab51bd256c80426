using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Llm;

/// <summary>Which LLM stands behind the proxy (configuration section <c>Llm</c>). Keys live only here, never in a sandbox.</summary>
public sealed class LlmOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Llm";

    /// <summary><c>echo</c> (default: deterministic, local, no network) or <c>openai-compatible</c>.</summary>
    public string Provider { get; set; } = "echo";

    /// <summary>Base URL of an OpenAI-compatible API (e.g. <c>https://api.openai.com</c>), for <c>openai-compatible</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The provider's API key.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Model name sent to the provider.</summary>
    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>How long one provider call may take.</summary>
    public int TimeoutSeconds { get; set; } = 60;
}

/// <summary>A completion from a provider, with the tokens it counted.</summary>
/// <param name="Text">The completion.</param>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="CompletionTokens">Completion tokens.</param>
public sealed record LlmCompletion(string Text, long PromptTokens, long CompletionTokens);

/// <summary>An LLM behind the proxy.</summary>
public interface ILlmProvider
{
    /// <summary>Name reported to agents.</summary>
    string Name { get; }

    /// <summary>Completes <paramref name="prompt"/> with at most <paramref name="maxTokens"/> tokens.</summary>
    Task<LlmCompletion> CompleteAsync(string prompt, int maxTokens, CancellationToken ct);
}

/// <summary>Token estimate used for metering before a provider has counted: about four characters per token.</summary>
public static class TokenEstimate
{
    /// <summary>Estimated tokens of a text (0 for empty).</summary>
    public static long Of(string text) => (text.Length + 3) / 4;
}

/// <summary>
/// The default provider: answers deterministically with the prompt echoed back, cut to the token limit.
/// No network is needed, so live cycles and tests run anywhere.
/// </summary>
public sealed class EchoLlmProvider : ILlmProvider
{
    /// <inheritdoc />
    public string Name => "echo";

    /// <inheritdoc />
    public Task<LlmCompletion> CompleteAsync(string prompt, int maxTokens, CancellationToken ct)
    {
        var text = "echo: " + prompt;
        if (TokenEstimate.Of(text) > maxTokens) text = text[..(int)Math.Min(text.Length, (long)maxTokens * 4)];
        return Task.FromResult(new LlmCompletion(text, TokenEstimate.Of(prompt), TokenEstimate.Of(text)));
    }
}

/// <summary>An OpenAI-compatible chat completions API (<c>POST {Endpoint}/v1/chat/completions</c>), chosen by configuration.</summary>
public sealed class OpenAiCompatibleProvider(HttpClient http, IOptions<LlmOptions> options) : ILlmProvider
{
    /// <inheritdoc />
    public string Name => "openai-compatible:" + options.Value.Model;

    /// <inheritdoc />
    public async Task<LlmCompletion> CompleteAsync(string prompt, int maxTokens, CancellationToken ct)
    {
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(o.Endpoint) || string.IsNullOrWhiteSpace(o.ApiKey))
            throw new InvalidOperationException("Llm:Endpoint and Llm:ApiKey must be set for the openai-compatible provider");
        using var request = new HttpRequestMessage(HttpMethod.Post, o.Endpoint.TrimEnd('/') + "/v1/chat/completions");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", o.ApiKey);
        var body = new Dictionary<string, object>
        {
            ["model"] = o.Model, ["max_tokens"] = maxTokens,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
        };
        request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(o.TimeoutSeconds));
        using var response = await http.SendAsync(request, timeout.Token);
        response.EnsureSuccessStatusCode();
        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(timeout.Token), cancellationToken: timeout.Token);
        var root = json.RootElement;
        var text = root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? "";
        var usage = root.TryGetProperty("usage", out var u) ? u : default;
        long Count(string name, long fallback) =>
            usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) ? n : fallback;
        return new LlmCompletion(text, Count("prompt_tokens", TokenEstimate.Of(prompt)), Count("completion_tokens", TokenEstimate.Of(text)));
    }
}
