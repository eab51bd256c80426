using System.Text.Json.Nodes;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace CyAgents.SystemApi.Llm;

/// <summary>What routing a request produced: the reply of the provider that answered (or refused), or none.</summary>
/// <param name="Reply">The answer, a non-transient refusal, or the last transient failure; null when no provider answered at all.</param>
/// <param name="Provider">The provider that produced <paramref name="Reply"/>, or the last one tried.</param>
/// <param name="Attempts">Attempts made, retries and failovers included.</param>
/// <param name="Error">Why the last attempt failed (one line), when it did.</param>
public sealed record RoutedReply(UpstreamReply? Reply, string? Provider, int Attempts, string? Error);

/// <summary>
/// Ordered failover over the providers that serve a model. Each provider has its own Polly pipeline: retries with
/// exponential backoff that wait for the provider's Retry-After (up to <see cref="LlmGatewayOptions.MaxRetryAfterSeconds"/>),
/// a circuit breaker, and a timeout per attempt. A provider that still fails with 429, 5xx, a timeout or an unreachable
/// server — or whose circuit is open — hands the request to the next. A 4xx other than 429 is the request's fault and
/// is returned at once: another provider would refuse it too.
/// </summary>
public sealed class LlmRouter
{
    private readonly IReadOnlyList<(ILlmProvider Provider, ResiliencePipeline<UpstreamReply> Pipeline)> _providers;

    /// <summary>Builds one pipeline per provider, in priority order.</summary>
    public LlmRouter(IEnumerable<ILlmProvider> providers, LlmGatewayOptions options, TimeProvider clock)
    {
        _providers = providers
            .Select((p, i) => (p, i)).OrderBy(x => x.p.Options.Priority).ThenBy(x => x.i)
            .Select(x => (x.p, Pipeline(x.p, options, clock))).ToList();
    }

    /// <summary>The providers, in the order they are tried.</summary>
    public IEnumerable<ILlmProvider> Providers => _providers.Select(p => p.Provider);

    /// <summary>The providers that serve <paramref name="model"/> on <paramref name="route"/>, in order.</summary>
    public IReadOnlyList<ILlmProvider> For(LlmRoute route, string model) => _providers.Select(p => p.Provider)
        .Where(p => p.Options.Models.Contains(model, StringComparer.Ordinal) && (route == LlmRoute.Chat || p.ServesEmbeddings)).ToList();

    /// <summary>Tries the providers of <paramref name="model"/> in order until one answers or refuses the request itself.</summary>
    public async Task<RoutedReply> SendAsync(LlmRoute route, string model, JsonObject body, bool stream, CancellationToken ct)
    {
        var attempts = 0;
        string? last = null, error = null;
        UpstreamReply? lastFailure = null;
        foreach (var (provider, pipeline) in _providers)
        {
            if (!provider.Options.Models.Contains(model, StringComparer.Ordinal) || (route == LlmRoute.Embeddings && !provider.ServesEmbeddings))
                continue;
            last = provider.Name;
            try
            {
                var reply = await pipeline.ExecuteAsync(async token =>
                {
                    Interlocked.Increment(ref attempts);
                    return await provider.SendAsync(route, body, stream, token);
                }, ct);
                if (!reply.Transient) return new RoutedReply(reply, provider.Name, attempts, null);
                error = $"{provider.Name} answered {reply.Status}";
                if (lastFailure is not null) await lastFailure.DisposeAsync();
                lastFailure = reply;
            }
            catch (BrokenCircuitException)
            {
                error = $"{provider.Name}: circuit open after repeated failures";
            }
            catch (TimeoutRejectedException)
            {
                error = $"{provider.Name}: no answer within {provider.Options.TimeoutSeconds} s";
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                error = $"{provider.Name}: {e.GetType().Name}: {FirstLine(e.Message)}";
            }
        }
        return new RoutedReply(lastFailure, last, attempts, error ?? $"no provider serves '{model}'");
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0] is var line && line.Length > 200 ? line[..200] : message.Split('\n', 2)[0];

    private static ResiliencePipeline<UpstreamReply> Pipeline(ILlmProvider provider, LlmGatewayOptions o, TimeProvider clock)
    {
        var maxWait = TimeSpan.FromSeconds(o.MaxRetryAfterSeconds);
        static bool Failed(Outcome<UpstreamReply> outcome) => outcome switch
        {
            { Exception: BrokenCircuitException } => false,
            { Exception: HttpRequestException or IOException or TimeoutRejectedException } => true,
            { Result: { Transient: true } } => true,
            _ => false,
        };
        var builder = new ResiliencePipelineBuilder<UpstreamReply> { TimeProvider = clock };
        if (o.MaxAttempts > 1)
            builder.AddRetry(new RetryStrategyOptions<UpstreamReply>
            {
                MaxRetryAttempts = o.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(o.RetryDelayMilliseconds),
                // A Retry-After longer than we are willing to wait: fail over now instead of holding the agent.
                ShouldHandle = args => ValueTask.FromResult(Failed(args.Outcome) && !(args.Outcome.Result?.RetryAfter > maxWait)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter),
            });
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<UpstreamReply>
        {
            FailureRatio = o.BreakerFailureRatio,
            MinimumThroughput = o.BreakerMinimumThroughput,
            SamplingDuration = TimeSpan.FromSeconds(o.BreakerSamplingSeconds),
            BreakDuration = TimeSpan.FromSeconds(o.BreakerBreakSeconds),
            ShouldHandle = args => ValueTask.FromResult(Failed(args.Outcome)),
        });
        builder.AddTimeout(TimeSpan.FromSeconds(provider.Options.TimeoutSeconds));
        return builder.Build();
    }
}
