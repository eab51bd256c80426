using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.SystemApi.Errors;
using Microsoft.AspNetCore.Mvc;

namespace CyAgents.SystemApi.Llm;

/// <summary>
/// OpenAI's error shape, <c>{"error":{"message","type","param","code"}}</c>, with our stable code as <c>code</c>, so
/// OpenAI SDKs raise their usual exceptions (401 AuthenticationError, 429 RateLimitError, 422, 5xx ...).
/// </summary>
public static class OpenAiErrors
{
    /// <summary>True for the paths that speak the OpenAI API (their errors, the framework's included, take this shape).</summary>
    public static bool IsOpenAiPath(PathString path) =>
        path.StartsWithSegments("/v1/chat") || path.StartsWithSegments("/v1/models") || path.StartsWithSegments("/v1/embeddings");

    /// <summary>OpenAI's <c>type</c> for a status and code.</summary>
    public static string TypeOf(int status, string code) => code switch
    {
        ErrorCodes.TokenBudgetExceeded => "insufficient_quota",
        _ => status switch
        {
            400 or 404 or 413 or 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_error",
            _ => "api_error",
        },
    };

    /// <summary>Writes a refusal (with Retry-After when it has one).</summary>
    public static Task WriteAsync(HttpContext http, LlmRefusal refusal)
    {
        if (refusal.RetryAfter is { } wait) http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString();
        return WriteAsync(http.Response, refusal.Status, refusal.Code, refusal.Message, refusal.Param);
    }

    /// <summary>Writes the error body with its status.</summary>
    public static async Task WriteAsync(HttpResponse response, int status, string code, string message, string? param)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", message);
        json.WriteString("type", TypeOf(status, code));
        if (param is null) json.WriteNull("param");
        else json.WriteString("param", param);
        json.WriteString("code", code);
        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync();
    }
}

/// <summary>
/// Writes problems raised on the OpenAI paths (authentication, the API's rate limiter, body limits, unknown routes) in
/// OpenAI's shape instead of RFC 7807. Registered before the default writer, so it is asked first.
/// </summary>
internal sealed class OpenAiProblemWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => OpenAiErrors.IsOpenAiPath(context.HttpContext.Request.Path);

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        var code = problem.Extensions.TryGetValue("code", out var c) && c is string s ? s : Problems.CodeOf(status);
        var param = problem is HttpValidationProblemDetails { Errors.Count: > 0 } v ? v.Errors.Keys.First() : null;
        await OpenAiErrors.WriteAsync(context.HttpContext.Response, status, code, problem.Detail ?? problem.Title ?? code, param);
    }
}
