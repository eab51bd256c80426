using System.Collections.Concurrent;
using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Identity;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Llm;

/// <summary>Tokens held for one call until it settles.</summary>
/// <param name="Reserved">Bundle tokens held (the call's upper bound).</param>
/// <param name="CompletionLimit">The completion limit per choice forwarded to the provider.</param>
/// <param name="Multiplier">Bundle tokens per model token.</param>
public sealed record TokenReservation(long Reserved, int CompletionLimit, decimal Multiplier);

/// <summary>The execution's meter after a write.</summary>
/// <param name="Used">Bundle tokens used so far.</param>
/// <param name="Granted">Bundle tokens won.</param>
public sealed record TokenMeterReading(long Used, long Granted)
{
    /// <summary>What is left (never negative).</summary>
    public long Left => Math.Max(0, Granted - Used);
}

/// <summary>
/// Reserves and settles bundle tokens of an execution. Reservations are held in this process, under one lock per
/// execution: an execution's calls all arrive at one API host — the one whose unix socket is mounted into its
/// network-less container — so the host that holds them sees every call in flight, and a reservation costs no database
/// write on the way to the provider. Settlement is one write through the API's writer: the charge added to
/// <see cref="ExecutionRecord.TokensUsed"/>, the call's record and its event, in one transaction, committed before the
/// caller has its answer (ADR 0124). Together the calls in flight never hold more than the execution has left.
/// </summary>
internal sealed class TokenMeter(IdempotentWrites writes, IDbContextFactory<CyAgentsDbContext> databases, LlmGatewayOptions options)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<ExecutionMeter?>>> _meters = new(StringComparer.Ordinal);

    /// <summary>One execution's meter: what it won, what is charged (as committed) and what calls in flight hold.</summary>
    private sealed class ExecutionMeter(long granted, long used)
    {
        public long Granted { get; } = granted;
        public long Used { get; set; } = used;
        public long Held { get; set; }
    }

    /// <summary>Bundle tokens for a count of model tokens: rounded up, so a fraction is never free.</summary>
    public static long Charge(long modelTokens, decimal multiplier) => (long)Math.Ceiling(modelTokens * multiplier);

    /// <summary>The least a request can reserve (its prompt bound plus one completion token per choice, or its limit).</summary>
    public static long Least(LlmRequest request, decimal multiplier) =>
        Charge(request.PromptBound + (long)request.Choices * (request.MaxTokens ?? (request.Route == LlmRoute.Chat ? 1 : 0)), multiplier);

    /// <summary>
    /// Holds the call's upper bound: the prompt bound plus <c>n</c> × the completion limit, times the model's multiplier.
    /// A caller's own limit must fit in what is left; with none, the limit is what is left (at most the default).
    /// </summary>
    public async Task<(TokenReservation? Reservation, LlmRefusal? Refusal)> ReserveAsync(Caller caller, LlmRequest request, CancellationToken ct)
    {
        var meter = await MeterOfAsync(caller.ExecutionId!, ct);
        if (meter is null)
            return (null, new LlmRefusal(404, ErrorCodes.NotFound, $"no execution record '{caller.ExecutionId}' to meter tokens against"));
        var multiplier = options.MultiplierOf(request.Model);
        lock (meter)
        {
            var left = meter.Granted - meter.Used - meter.Held;
            int limit;
            if (request.Route == LlmRoute.Embeddings) limit = 0;
            else if (request.MaxTokens is { } asked) limit = asked;
            else
            {
                var fits = (long)Math.Floor(left / multiplier) - request.PromptBound;
                limit = (int)Math.Clamp(fits / request.Choices, 1, options.DefaultMaxCompletionTokens); // refused below when even 1 does not fit
            }
            var reserved = Charge(request.PromptBound + (long)request.Choices * limit, multiplier);
            if (reserved > left)
                return (null, new LlmRefusal(422, ErrorCodes.TokenBudgetExceeded,
                    $"this call may use {reserved} tokens (prompt bound {request.PromptBound} + {request.Choices} × completion limit {limit}" +
                    (multiplier == 1 ? "" : $", × {multiplier} for {request.Model}") +
                    $"); the execution won {meter.Granted} and has {Math.Max(0, left)} left" + (meter.Held > 0 ? $" ({meter.Held} held by calls in flight)" : ""),
                    request.LimitField));
            meter.Held += reserved;
            return (new TokenReservation(reserved, limit, multiplier), null);
        }
    }

    /// <summary>
    /// Charges the call, records it and adds its <c>llm.call</c> event in one transaction (hand-written statements, see
    /// <see cref="SettlementStatements"/>), then releases its reservation.
    /// </summary>
    public async Task<TokenMeterReading> SettleAsync(Caller caller, TokenReservation reservation, LlmCallRecord call)
    {
        var meter = (await MeterOfAsync(caller.ExecutionId!, CancellationToken.None))!;
        try
        {
            var outcome = await writes.RunAsync<TokenMeterReading>(caller, async w =>
                await SettlementStatements.For(w.Db).SettleAsync(w.Db, call, CallEvent(call, w.Now), w.Ct));
            // Added, not copied from the reading: settlements may resume out of their commit order, and a copy could go back.
            lock (meter) meter.Used += call.ChargedTokens;
            return outcome.Value!;
        }
        finally
        {
            lock (meter) meter.Held -= reservation.Reserved;
        }
    }

    /// <summary>The call's event for the stream, about its agent (who sees it) and its cycle.</summary>
    private static EventRecord CallEvent(LlmCallRecord call, DateTimeOffset at) => EventRecords.Create(EventTypes.LlmCall, call.AgentId, call.Cycle, at, new
    {
        callId = call.Id, executionId = call.ExecutionId, model = call.Model, provider = call.Provider, route = call.Route, stream = call.Stream,
        promptTokens = call.PromptTokens, completionTokens = call.CompletionTokens, reservedTokens = call.ReservedTokens,
        chargedTokens = call.ChargedTokens, latencyMs = call.LatencyMs, outcome = call.Outcome.ToString(),
    });

    private Task<ExecutionMeter?> MeterOfAsync(string executionId, CancellationToken ct)
    {
        var lazy = _meters.GetOrAdd(executionId, id => new Lazy<Task<ExecutionMeter?>>(() => LoadAsync(id)));
        var task = lazy.Value;
        // A missing execution (or a failed read) is not remembered: the record may be created after the token is issued.
        if (task.IsCompleted && (!task.IsCompletedSuccessfully || task.Result is null)) _meters.TryRemove(new KeyValuePair<string, Lazy<Task<ExecutionMeter?>>>(executionId, lazy));
        return task.WaitAsync(ct);
    }

    private async Task<ExecutionMeter?> LoadAsync(string executionId)
    {
        await using var db = await databases.CreateDbContextAsync();
        var execution = await db.Set<ExecutionRecord>().AsNoTracking().FirstOrDefaultAsync(e => e.Id == executionId);
        return execution is null ? null : new ExecutionMeter(execution.Granted.Tokens, execution.TokensUsed);
    }
}
