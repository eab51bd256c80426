namespace CyAgents.SystemApi.Llm;

/// <summary>
/// The LLM gateway (configuration section <c>Llm</c>): the providers behind it, what a model token costs in bundle
/// tokens, retries, the circuit breaker and per-agent limits. Provider keys live only here, never in a sandbox.
/// With no provider configured the gateway serves the model <c>echo</c> from a local echo provider.
/// </summary>
public sealed class LlmGatewayOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Llm";

    /// <summary>The providers, tried in <see cref="LlmProviderOptions.Priority"/> order (then as listed) for a model they serve.</summary>
    public List<LlmProviderOptions> Providers { get; set; } = [];

    /// <summary>Per-model multipliers: how many bundle tokens one model token costs (default 1).</summary>
    public List<LlmModelOptions> Models { get; set; } = [];

    /// <summary>Model used by the old <c>/v1/llm/complete</c> route; default: the first model of the first provider.</summary>
    public string? DefaultModel { get; set; }

    /// <summary>Completion limit forwarded when a request names none (and what is left allows).</summary>
    public int DefaultMaxCompletionTokens { get; set; } = 4096;

    /// <summary>Prompt-token bound added for each non-text content part (an image, audio), whose bytes do not bound its tokens.</summary>
    public int NonTextPartTokens { get; set; } = 4096;

    /// <summary>Attempts per provider before failing over to the next (1 = no retry).</summary>
    public int MaxAttempts { get; set; } = 2;

    /// <summary>First retry delay in milliseconds (exponential with jitter) when the provider sent no Retry-After.</summary>
    public int RetryDelayMilliseconds { get; set; } = 200;

    /// <summary>Longest Retry-After the gateway waits for; a longer one fails over at once.</summary>
    public int MaxRetryAfterSeconds { get; set; } = 10;

    /// <summary>Circuit breaker: share of failed attempts in the sampling window that opens a provider's circuit.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Circuit breaker: attempts in the window before it may open.</summary>
    public int BreakerMinimumThroughput { get; set; } = 10;

    /// <summary>Circuit breaker: sampling window in seconds.</summary>
    public int BreakerSamplingSeconds { get; set; } = 30;

    /// <summary>Circuit breaker: how long an open circuit skips its provider, in seconds.</summary>
    public int BreakerBreakSeconds { get; set; } = 30;

    /// <summary>Per-agent requests per minute on the LLM routes (0 = no limit beyond the API's own).</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Per-agent bundle tokens per minute, counted at their reservation and corrected to the charge (0 = no limit).</summary>
    public long TokensPerMinute { get; set; }

    /// <summary>The providers to use: the configured ones, or the local echo provider when none is.</summary>
    public IReadOnlyList<LlmProviderOptions> EffectiveProviders =>
        Providers.Count > 0 ? Providers : [new LlmProviderOptions { Name = "echo", Kind = LlmProviderKinds.Echo, Models = ["echo"] }];

    /// <summary>The multiplier of a model (1 when none is configured).</summary>
    public decimal MultiplierOf(string model) =>
        Models.FirstOrDefault(m => string.Equals(m.Name, model, StringComparison.Ordinal))?.Multiplier ?? 1m;

    /// <summary>Messages naming each bad key (for <c>ValidateOnStart</c>); never includes a key's value.</summary>
    public IEnumerable<string> Validate()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Providers.Count; i++)
        {
            var p = Providers[i];
            var at = $"Providers:{i}";
            if (string.IsNullOrWhiteSpace(p.Name)) yield return $"{at}:Name is required";
            else if (!names.Add(p.Name)) yield return $"{at}:Name '{p.Name}' is used twice";
            if (!LlmProviderKinds.All.Contains(p.Kind))
                yield return $"{at}:Kind '{p.Kind}' is unknown: use {string.Join(", ", LlmProviderKinds.All)}";
            if (p.Models.Count == 0 || p.Models.Any(string.IsNullOrWhiteSpace)) yield return $"{at}:Models must list the model names it serves";
            if (p.TimeoutSeconds is < 1 or > 600) yield return $"{at}:TimeoutSeconds must be between 1 and 600";
            if (p.Kind == LlmProviderKinds.OpenAiCompatible)
            {
                if (!Uri.TryCreate(p.BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    yield return $"{at}:BaseUrl must be an absolute http(s) URL ending in /v1, as OpenAI SDKs take it";
                else if (!uri.AbsolutePath.TrimEnd('/').EndsWith("/v1", StringComparison.Ordinal))
                    yield return $"{at}:BaseUrl must end in /v1 (e.g. https://api.openai.com/v1); the gateway appends /chat/completions";
                if (!string.IsNullOrEmpty(p.ApiKey) && !string.IsNullOrEmpty(p.ApiKeyFile))
                    yield return $"{at}: give ApiKey or ApiKeyFile, not both";
                else if (!string.IsNullOrEmpty(p.ApiKeyFile) && !File.Exists(p.ApiKeyFile))
                    yield return $"{at}:ApiKeyFile '{p.ApiKeyFile}' does not exist";
            }
        }
        foreach (var m in Models)
            if (string.IsNullOrWhiteSpace(m.Name) || m.Multiplier <= 0 || m.Multiplier > 1000)
                yield return $"Models: '{m.Name}' needs a name and a Multiplier above 0 and at most 1000";
        if (DefaultMaxCompletionTokens < 1) yield return "DefaultMaxCompletionTokens must be at least 1";
        if (NonTextPartTokens < 0) yield return "NonTextPartTokens must not be negative";
        if (MaxAttempts is < 1 or > 10) yield return "MaxAttempts must be between 1 and 10";
        if (RetryDelayMilliseconds is < 0 or > 60_000) yield return "RetryDelayMilliseconds must be between 0 and 60000";
        if (MaxRetryAfterSeconds is < 0 or > 600) yield return "MaxRetryAfterSeconds must be between 0 and 600";
        if (BreakerFailureRatio is <= 0 or > 1) yield return "BreakerFailureRatio must be above 0 and at most 1";
        if (BreakerMinimumThroughput < 2) yield return "BreakerMinimumThroughput must be at least 2";
        if (BreakerSamplingSeconds < 1 || BreakerBreakSeconds < 1) yield return "BreakerSamplingSeconds and BreakerBreakSeconds must be at least 1";
        if (RequestsPerMinute < 0 || TokensPerMinute < 0) yield return "RequestsPerMinute and TokensPerMinute must not be negative";
        if (DefaultModel is { } d && !EffectiveProviders.Any(p => p.Models.Contains(d)))
            yield return $"DefaultModel '{d}' is served by no provider";
    }
}

/// <summary>One provider behind the gateway.</summary>
public sealed class LlmProviderOptions
{
    /// <summary>Name on records, logs and <c>/v1/models</c> (<c>owned_by</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary><c>openai-compatible</c>, <c>echo</c> or <c>scripted</c>.</summary>
    public string Kind { get; set; } = LlmProviderKinds.Echo;

    /// <summary>For <c>openai-compatible</c>: the base URL as SDKs take it, ending in <c>/v1</c>.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>The provider's key, given in configuration. Never logged, never sent to a sandbox.</summary>
    public string? ApiKey { get; set; }

    /// <summary>A file holding the key (read at start, trimmed), instead of <see cref="ApiKey"/>.</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>The model names this provider serves.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Lower is tried first.</summary>
    public int Priority { get; set; }

    /// <summary>Whether it answers <c>/v1/embeddings</c> (openai-compatible only; echo always does).</summary>
    public bool Embeddings { get; set; }

    /// <summary>How long one attempt may wait for the answer's headers, and a stream for its next event.</summary>
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary>For <c>scripted</c>: the replies, chosen by the first whose <see cref="ScriptedReply.When"/> the last user message contains.</summary>
    public List<ScriptedReply> Script { get; set; } = [];

    /// <summary>The key, from <see cref="ApiKey"/> or <see cref="ApiKeyFile"/>; null when neither is set.</summary>
    internal string? ReadKey() =>
        !string.IsNullOrEmpty(ApiKey) ? ApiKey : !string.IsNullOrEmpty(ApiKeyFile) ? File.ReadAllText(ApiKeyFile).Trim() : null;

    /// <summary>No key in the text of an options object (a log line or exception message that prints it).</summary>
    public override string ToString() => $"{Name} ({Kind})";
}

/// <summary>A reply of the scripted provider.</summary>
public sealed class ScriptedReply
{
    /// <summary>Text the last user message must contain (empty: always matches).</summary>
    public string When { get; set; } = "";

    /// <summary>The assistant's text.</summary>
    public string Reply { get; set; } = "";

    /// <summary>When set, the reply is a call of this tool with <see cref="ToolArguments"/> instead of text.</summary>
    public string? ToolName { get; set; }

    /// <summary>JSON arguments of the tool call.</summary>
    public string ToolArguments { get; set; } = "{}";
}

/// <summary>A multiplier for one model.</summary>
public sealed class LlmModelOptions
{
    /// <summary>Model name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Bundle tokens per model token (e.g. 4 for a model four times dearer than the reference).</summary>
    public decimal Multiplier { get; set; } = 1m;
}

/// <summary>The provider kinds.</summary>
public static class LlmProviderKinds
{
    /// <summary>Any server speaking the OpenAI API (OpenAI, vLLM, Ollama, llama.cpp, LiteLLM ...).</summary>
    public const string OpenAiCompatible = "openai-compatible";
    /// <summary>Local, deterministic: answers with the last user message.</summary>
    public const string Echo = "echo";
    /// <summary>Local, deterministic: answers from a configured script (tests, demos).</summary>
    public const string Scripted = "scripted";
    /// <summary>All kinds.</summary>
    public static readonly IReadOnlyList<string> All = [OpenAiCompatible, Echo, Scripted];
}
