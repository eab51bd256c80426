using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Identity;

namespace CyAgents.SystemApi.Llm;

/// <summary>A call answered without streaming: the provider's body, or a refusal, and what it cost.</summary>
public sealed record GatewayAnswer(JsonNode? Body, LlmRefusal? Refusal, string? CallId, string? Provider, long PromptTokens,
    long CompletionTokens, long Charged, TokenMeterReading? Meter);

/// <summary>
/// One call through the gateway: find the model's providers, admit it under the agent's per-minute limits, reserve its
/// upper bound from the execution's won tokens, forward it (failover and retries in <see cref="LlmRouter"/>), then charge
/// what the provider reported — never less — and record the call (see <see cref="TokenMeter"/>). What cannot be known is charged safely: an answer
/// without usage, or a stream that broke before its usage chunk, is charged its whole reservation; a call no provider
/// answered is charged nothing (nothing was delivered).
/// </summary>
internal sealed class LlmGateway(LlmRouter router, TokenMeter meter, LlmRateLimits limits, LlmGatewayOptions options,
    TimeProvider clock, ILogger<LlmGateway> log, Metrics.SystemMetrics metrics)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray(), EventEnd = "\n\n"u8.ToArray(), Done = "data: [DONE]\n\n"u8.ToArray();

    private sealed record Admitted(TokenReservation Reservation, LlmRateLimits.Entry? Entry, string CallId, DateTimeOffset StartedAt, long Start);

    /// <summary>The models this host serves, with the provider that is tried first for each.</summary>
    public IEnumerable<(string Model, string Provider)> Models() =>
        router.Providers.SelectMany(p => p.Options.Models.Select(m => (m, p.Name))).DistinctBy(x => x.m);

    /// <summary>The model of the old completion route.</summary>
    public string DefaultModel => options.DefaultModel ?? options.EffectiveProviders[0].Models[0];

    /// <summary>A call answered whole.</summary>
    public async Task<GatewayAnswer> CompleteAsync(Caller caller, LlmRequest request, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (admitted, refusal) = await AdmitAsync(caller, request, start, ct);
        if (refusal is not null) return new GatewayAnswer(null, refusal, null, null, 0, 0, 0, null);
        RoutedReply routed;
        try
        {
            routed = await router.SendAsync(request.Route, request.Model, request.Body, false, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await SettleAsync(caller, request, admitted!, new RoutedReply(null, null, 0, null), LlmCallOutcome.ProviderFailed, null, 0, "the caller left before an answer");
            throw;
        }
        await using var reply = routed.Reply;
        if (reply is { Succeeded: true })
        {
            var usage = OpenAiJson.UsageOf(reply.Body);
            var charged = usage is { } u ? TokenMeter.Charge(u.Prompt + u.Completion, admitted!.Reservation.Multiplier) : admitted!.Reservation.Reserved;
            var reading = await SettleAsync(caller, request, admitted, routed, LlmCallOutcome.Succeeded, usage, charged, usage is null ? "no usage reported: charged the reservation" : null);
            return new GatewayAnswer(reply.Body, null, admitted.CallId, routed.Provider, usage?.Prompt ?? 0, usage?.Completion ?? 0, charged, reading);
        }
        var (outcome, failure) = Failure(request, routed);
        var after = await SettleAsync(caller, request, admitted!, routed, outcome, null, 0, failure.Message);
        return new GatewayAnswer(null, failure, admitted!.CallId, routed.Provider, 0, 0, 0, after);
    }

    /// <summary>A streamed call: relays the provider's events to <paramref name="http"/> as they come.</summary>
    public async Task StreamAsync(Caller caller, LlmRequest request, HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        var ct = http.RequestAborted;
        var (admitted, refusal) = await AdmitAsync(caller, request, start, ct);
        if (refusal is not null)
        {
            await OpenAiErrors.WriteAsync(http, refusal);
            return;
        }
        RoutedReply routed;
        try
        {
            routed = await router.SendAsync(request.Route, request.Model, request.Body, true, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await SettleAsync(caller, request, admitted!, new RoutedReply(null, null, 0, "the caller left"), LlmCallOutcome.ProviderFailed, null, 0, "the caller left before an answer");
            throw;
        }
        await using var reply = routed.Reply;
        if (reply is not { Succeeded: true, Events: not null })
        {
            var (outcome, failure) = Failure(request, routed);
            await SettleAsync(caller, request, admitted!, routed, outcome, null, 0, failure.Message);
            await OpenAiErrors.WriteAsync(http, failure);
            return;
        }

        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["x-cyagents-call-id"] = admitted!.CallId;
        (long Prompt, long Completion)? usage = null;
        string? broken = null;
        try
        {
            await response.StartAsync(ct);
            await foreach (var payload in reply.Events.WithCancellation(ct))
            {
                if (payload.Contains("\"usage\"", StringComparison.Ordinal))
                {
                    using var chunk = JsonDocument.Parse(payload);
                    if (OpenAiJson.UsageOf(chunk.RootElement) is { } u)
                    {
                        usage = u;
                        // The usage chunk was forced on for metering; a caller that did not ask for it does not get it.
                        if (!request.IncludeUsage && chunk.RootElement.TryGetProperty("choices", out var c) && c.GetArrayLength() == 0) continue;
                    }
                }
                await response.Body.WriteAsync(DataPrefix, ct);
                await response.Body.WriteAsync(Encoding.UTF8.GetBytes(payload), ct);
                await response.Body.WriteAsync(EventEnd, ct);
                await response.Body.FlushAsync(ct);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or JsonException or HttpRequestException)
        {
            broken = ct.IsCancellationRequested ? "the caller left during the stream" : $"the stream broke: {e.GetType().Name}";
        }
        var charged = broken is null && usage is { } done
            ? TokenMeter.Charge(done.Prompt + done.Completion, admitted.Reservation.Multiplier)
            // Broken, or finished without usage: what it delivered cannot be counted, so the bound is charged — unless the
            // provider's usage came before the break, which is charged if larger (never less than reported).
            : Math.Max(admitted.Reservation.Reserved, usage is { } partial ? TokenMeter.Charge(partial.Prompt + partial.Completion, admitted.Reservation.Multiplier) : 0);
        await SettleAsync(caller, request, admitted, routed, broken is null ? LlmCallOutcome.Succeeded : LlmCallOutcome.StreamBroken, usage, charged,
            broken ?? (usage is null ? "no usage chunk: charged the reservation" : null));
        if (broken is null)
        {
            // [DONE] only after the charge is committed: a caller that has its answer sees it on the meter.
            try
            {
                await response.Body.WriteAsync(Done, ct);
                await response.Body.FlushAsync(ct);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                // the caller left after its last chunk; the call is settled
            }
        }
        else if (!ct.IsCancellationRequested)
        {
            // Tell the client in-band (OpenAI's Python SDK raises on an error event), then break the connection so a client
            // that ignores error events (the .NET library) still sees a failed stream rather than one that merely stopped.
            var error = new JsonObject { ["error"] = new JsonObject { ["message"] = "the provider's stream broke; charged the reservation", ["type"] = "api_error", ["param"] = null, ["code"] = ErrorCodes.LlmProviderFailed } };
            try
            {
                await response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: " + error.ToJsonString() + "\n\n"), CancellationToken.None);
                await response.Body.FlushAsync(CancellationToken.None);
            }
            catch (IOException)
            {
                // the caller is gone too
            }
            http.Abort();
        }
    }

    private async Task<(Admitted?, LlmRefusal?)> AdmitAsync(Caller caller, LlmRequest request, long start, CancellationToken ct)
    {
        if (router.For(request.Route, request.Model).Count == 0)
            return (null, new LlmRefusal(404, ErrorCodes.NotFound,
                $"the model '{request.Model}' is not served here{(request.Route == LlmRoute.Embeddings ? " for embeddings" : "")}; GET /v1/models lists the models", "model"));
        var multiplier = options.MultiplierOf(request.Model);
        var entry = limits.TryAdmit(caller.AgentId!, TokenMeter.Least(request, multiplier), out var limited);
        if (limited is not null) return (null, limited);
        var (reservation, refused) = await meter.ReserveAsync(caller, request, ct);
        if (refused is not null)
        {
            limits.Correct(entry, 0);
            return (null, refused);
        }
        limits.Correct(entry, reservation!.Reserved);
        if (request.Route == LlmRoute.Chat)
        {
            if (request.MaxTokens is null) request.Body[request.LimitField] = reservation.CompletionLimit;
            if (request.Stream)
            {
                var streamOptions = request.Body["stream_options"] as JsonObject ?? new JsonObject();
                streamOptions["include_usage"] = true;
                request.Body["stream_options"] = streamOptions;
            }
        }
        var now = clock.GetUtcNow();
        var id = $"llm-{now.UtcTicks:x16}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
        return (new Admitted(reservation, entry, id, now, start), null);
    }

    private static (LlmCallOutcome, LlmRefusal) Failure(LlmRequest request, RoutedReply routed)
    {
        if (routed.Reply is { Transient: false } rejected)
        {
            var error = rejected.Body?["error"];
            var message = error?["message"] is JsonValue m && m.TryGetValue<string>(out var s) ? s : $"status {rejected.Status}";
            var param = error?["param"] is JsonValue p && p.TryGetValue<string>(out var ps) ? ps : null;
            return (LlmCallOutcome.Rejected, new LlmRefusal(rejected.Status, Problems.CodeOf(rejected.Status),
                $"the provider {routed.Provider} refused the request: {message}", param));
        }
        return (LlmCallOutcome.ProviderFailed, new LlmRefusal(502, ErrorCodes.LlmProviderFailed,
            $"no provider of '{request.Model}' answered ({routed.Attempts} attempts; last: {routed.Error}); nothing was charged"));
    }

    private async Task<TokenMeterReading> SettleAsync(Caller caller, LlmRequest request, Admitted admitted, RoutedReply routed,
        LlmCallOutcome outcome, (long Prompt, long Completion)? usage, long charged, string? note)
    {
        var latency = (long)Stopwatch.GetElapsedTime(admitted.Start).TotalMilliseconds;
        var call = new LlmCallRecord
        {
            Id = admitted.CallId, ExecutionId = caller.ExecutionId!, AgentId = caller.AgentId!, Cycle = caller.Cycle ?? 0,
            Model = request.Model, Provider = routed.Provider, Route = request.Route == LlmRoute.Chat ? "chat" : "embeddings",
            Stream = request.Stream, PromptTokens = usage?.Prompt ?? 0, CompletionTokens = usage?.Completion ?? 0,
            ReservedTokens = admitted.Reservation.Reserved, ChargedTokens = charged, Attempts = routed.Attempts, LatencyMs = latency,
            Outcome = outcome, Error = note is { Length: > 500 } ? note[..500] : note, StartedAt = admitted.StartedAt,
        };
        // Settled even when the caller has gone: the reservation must not stay held.
        var reading = await meter.SettleAsync(caller, admitted.Reservation, call);
        limits.Correct(admitted.Entry, charged);
        metrics.LlmCall(call.PromptTokens, call.CompletionTokens, charged);
        if (usage is { } u && TokenMeter.Charge(u.Prompt + u.Completion, admitted.Reservation.Multiplier) > admitted.Reservation.Reserved)
            log.LogWarning("LLM call {CallId}: {Provider} reported more tokens than the call's bound ({Reported} > {Reserved}); charged what it reported",
                call.Id, call.Provider, u.Prompt + u.Completion, admitted.Reservation.Reserved);
        log.LogInformation(
            "LLM call {CallId} {Route} {Model} via {Provider}: {Outcome}; {PromptTokens} prompt + {CompletionTokens} completion tokens reported, " +
            "{TokensCharged} charged of {TokensReserved} reserved; {Attempts} attempts, {LatencyMs} ms; {TokensUsed}/{TokensGranted} used",
            call.Id, call.Route, call.Model, call.Provider ?? "-", outcome, call.PromptTokens, call.CompletionTokens, charged, call.ReservedTokens,
            call.Attempts, latency, reading.Used, reading.Granted);
        return reading;
    }
}
