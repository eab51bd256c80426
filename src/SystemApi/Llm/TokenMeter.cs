using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Errors;
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
/// Reserves and settles bundle tokens on the execution record, through the API's one writer, so concurrent calls are
/// serialized and together never reserve more than the execution won. Settlement writes the call's record in the
/// same transaction as the charge.
/// </summary>
internal sealed class TokenMeter(IdempotentWrites writes, LlmGatewayOptions options)
{
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
        var multiplier = options.MultiplierOf(request.Model);
        var outcome = await writes.RunAsync<TokenReservation>(caller, async w =>
        {
            var execution = await w.Db.Set<ExecutionRecord>().FirstOrDefaultAsync(e => e.Id == caller.ExecutionId, w.Ct);
            if (execution is null) return Refusal.NotFound($"no execution record '{caller.ExecutionId}' to meter tokens against");
            var left = execution.Granted.Tokens - execution.TokensUsed;
            int limit;
            if (request.Route == LlmRoute.Embeddings) limit = 0;
            else if (request.MaxTokens is { } asked) limit = asked;
            else
            {
                var fits = (long)Math.Floor(left / multiplier) - request.PromptBound;
                limit = (int)Math.Min(options.DefaultMaxCompletionTokens, fits / request.Choices);
                if (limit < 1) limit = 1; // refused just below with the bound it needs
            }
            var reserved = Charge(request.PromptBound + (long)request.Choices * limit, multiplier);
            if (reserved > left)
                return new Refusal(ErrorCodes.TokenBudgetExceeded,
                    $"this call may use {reserved} tokens (prompt bound {request.PromptBound} + {request.Choices} × completion limit {limit}" +
                    (multiplier == 1 ? "" : $", × {multiplier} for {request.Model}") +
                    $"); the execution won {execution.Granted.Tokens} and has {Math.Max(0, left)} left");
            execution.TokensUsed += reserved;
            return new TokenReservation(reserved, limit, multiplier);
        });
        if (outcome.Problem is not null)
        {
            var code = outcome.Problem.ProblemDetails.Extensions.TryGetValue("code", out var c) ? c as string ?? ErrorCodes.Internal : ErrorCodes.Internal;
            return (null, new LlmRefusal(outcome.Problem.StatusCode, code, outcome.Problem.ProblemDetails.Detail ?? code,
                code == ErrorCodes.TokenBudgetExceeded ? request.LimitField : null));
        }
        return (outcome.Value, null);
    }

    /// <summary>Replaces the reservation with the charge and records the call, in one transaction.</summary>
    public async Task<TokenMeterReading> SettleAsync(Caller caller, TokenReservation reservation, LlmCallRecord call)
    {
        var outcome = await writes.RunAsync<TokenMeterReading>(caller, async w =>
        {
            var execution = await w.Db.Set<ExecutionRecord>().FirstAsync(e => e.Id == caller.ExecutionId, w.Ct);
            execution.TokensUsed += call.ChargedTokens - reservation.Reserved;
            w.Db.Add(call);
            return new TokenMeterReading(execution.TokensUsed, execution.Granted.Tokens);
        });
        return outcome.Value!;
    }
}
