using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyAgents.Contracts;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Llm;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// The OpenAI-compatible LLM gateway on the API's own listeners: an agent points an OpenAI SDK at
/// <c>{api}/v1</c> with its execution token as the API key. Bodies are read by the gateway's own parser, so every field
/// the caller sends (tools, tool_choice, response_format, temperature, top_p, stop ...) reaches the provider unchanged.
/// Errors take OpenAI's shape with our stable code in <c>code</c>.
/// </summary>
internal static class OpenAiEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var agent = app.MapGroup(ApiRoutes.OpenAiBase).WithTags("LLM gateway (OpenAI-compatible)").RequiresToken(Caller.AgentPolicy);
        agent.MapPost("/chat/completions", Chat).WithName("CreateChatCompletion")
            .WithSummary("OpenAI chat completions, metered against the execution's won tokens")
            .WithDescription("Reserves the call's upper bound (prompt bound + n × completion limit, × the model's multiplier) from what the " +
                             "execution has left, forwards to the model's providers in priority order (retries, failover, circuit breaker), then " +
                             "charges the provider's reported usage. stream: true answers with server-sent events; stream_options.include_usage " +
                             "adds the final usage chunk. Errors: {\"error\":{\"message\",\"type\",\"param\",\"code\"}}.")
            .Accepts<JsonElement>("application/json").Produces<JsonElement>(200, "application/json", "text/event-stream")
            .Refuses(400, 404, 413, 422, 502);
        agent.MapPost("/embeddings", Embeddings).WithName("CreateEmbedding")
            .WithSummary("OpenAI embeddings, where a provider of the model offers them; metered like chat")
            .Accepts<JsonElement>("application/json").Produces<JsonElement>(200).Refuses(400, 404, 413, 422, 502);
        app.MapGroup(ApiRoutes.OpenAiBase).WithTags("LLM gateway (OpenAI-compatible)").RequiresToken(Caller.AnyPolicy)
            .MapGet("/models", Models).WithName("ListModels").WithSummary("The models this host serves (OpenAI list shape)")
            .Produces<JsonElement>(200);
    }

    private static async Task Chat(HttpContext http, ClaimsPrincipal user, LlmGateway gateway, LlmGatewayOptions options,
        IOptions<SystemApiOptions> api)
    {
        var body = await ReadBodyAsync(http, api.Value.MaxRequestBodyBytes);
        var request = LlmRequests.Chat(body, options, out var refusal);
        if (refusal is not null)
        {
            await OpenAiErrors.WriteAsync(http, refusal);
            return;
        }
        if (request.Stream) await gateway.StreamAsync(Caller.From(user), request, http);
        else await AnswerAsync(http, await gateway.CompleteAsync(Caller.From(user), request, http.RequestAborted));
    }

    private static async Task Embeddings(HttpContext http, ClaimsPrincipal user, LlmGateway gateway, IOptions<SystemApiOptions> api)
    {
        var body = await ReadBodyAsync(http, api.Value.MaxRequestBodyBytes);
        var request = LlmRequests.Embeddings(body, out var refusal);
        if (refusal is not null) await OpenAiErrors.WriteAsync(http, refusal);
        else await AnswerAsync(http, await gateway.CompleteAsync(Caller.From(user), request, http.RequestAborted));
    }

    private static async Task Models(HttpContext http, LlmGateway gateway)
    {
        var data = new JsonArray();
        foreach (var (model, provider) in gateway.Models())
            data.Add(new JsonObject { ["id"] = model, ["object"] = "model", ["created"] = 0, ["owned_by"] = provider });
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(OpenAiJson.Bytes(new JsonObject { ["object"] = "list", ["data"] = data }));
    }

    private static async Task AnswerAsync(HttpContext http, GatewayAnswer answer)
    {
        if (answer.CallId is not null) http.Response.Headers["x-cyagents-call-id"] = answer.CallId;
        if (answer.Meter is { } meter)
        {
            http.Response.Headers["x-cyagents-tokens-charged"] = answer.Charged.ToString();
            http.Response.Headers["x-cyagents-tokens-left"] = meter.Left.ToString();
        }
        if (answer.Refusal is { } refusal)
        {
            await OpenAiErrors.WriteAsync(http, refusal);
            return;
        }
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(OpenAiJson.Bytes(answer.Body!));
    }

    /// <summary>The body's bytes (Kestrel and the problem middleware have already refused one above the limit).</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpContext http, long limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + n > limit) throw new BadHttpRequestException("request body too large", StatusCodes.Status413PayloadTooLarge);
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }
}
