using System.Text.Json.Serialization;

namespace CyAgents.Contracts;

/// <summary>
/// The part of OpenAI's chat completions wire format the typed client needs (snake_case as on the wire). Agents that want
/// everything (tools, streaming) use an OpenAI SDK against <c>{api}/v1</c>; this is for the trimmed .NET agent.
/// </summary>
/// <param name="Model">A model from <c>GET /v1/models</c>.</param>
/// <param name="Messages">The conversation.</param>
/// <param name="MaxTokens">Most completion tokens; reserved from the execution's won tokens until the answer is in.</param>
public sealed record ChatCompletionRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatMessage> Messages,
    [property: JsonPropertyName("max_tokens"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MaxTokens = null);

/// <summary>One message.</summary>
/// <param name="Role"><c>system</c>, <c>user</c>, <c>assistant</c> ...</param>
/// <param name="Content">Its text.</param>
public sealed record ChatMessage([property: JsonPropertyName("role")] string Role, [property: JsonPropertyName("content")] string? Content);

/// <summary>A chat completion (the fields the typed client reads).</summary>
/// <param name="Id">Completion id.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="Choices">The answers.</param>
/// <param name="Usage">Tokens the provider counted.</param>
public sealed record ChatCompletionResponse(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] ChatUsage? Usage);

/// <summary>One answer.</summary>
/// <param name="Index">Its index.</param>
/// <param name="Message">The assistant's message.</param>
/// <param name="FinishReason"><c>stop</c>, <c>length</c>, <c>tool_calls</c> ...</param>
public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatMessage Message,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

/// <summary>Token counts.</summary>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="CompletionTokens">Completion tokens.</param>
/// <param name="TotalTokens">Both.</param>
public sealed record ChatUsage(
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
    [property: JsonPropertyName("total_tokens")] long TotalTokens);

/// <summary>OpenAI's error body, as the gateway's routes answer.</summary>
/// <param name="Error">The error.</param>
public sealed record OpenAiErrorBody([property: JsonPropertyName("error")] OpenAiError? Error);

/// <summary>An error: <see cref="Code"/> is our stable code (<see cref="ErrorCodes"/>).</summary>
/// <param name="Message">What went wrong.</param>
/// <param name="Type">OpenAI's error type.</param>
/// <param name="Param">The offending parameter.</param>
/// <param name="Code">Stable code.</param>
public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
