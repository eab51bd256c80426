namespace CyAgents.SystemApi.Llm;

/// <summary>
/// Per-agent requests-per-minute and tokens-per-minute on the LLM routes, over a sliding minute. A call's tokens count
/// at its reservation (so a burst of concurrent calls cannot all pass) and are corrected to its charge when it ends.
/// </summary>
public sealed class LlmRateLimits(LlmGatewayOptions options, TimeProvider clock)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, List<Entry>> _agents = new(StringComparer.Ordinal);

    /// <summary>One call in an agent's window; its token count can be corrected.</summary>
    public sealed class Entry(DateTimeOffset at, long tokens)
    {
        internal DateTimeOffset At { get; } = at;
        internal long Tokens { get; set; } = tokens;
    }

    /// <summary>Admits a call bounded by <paramref name="tokens"/>, or says how long to wait (a refusal records nothing).</summary>
    public Entry? TryAdmit(string agent, long tokens, out LlmRefusal? refusal)
    {
        refusal = null;
        if (options.RequestsPerMinute == 0 && options.TokensPerMinute == 0) return null;
        var now = clock.GetUtcNow();
        lock (_agents)
        {
            if (!_agents.TryGetValue(agent, out var window)) _agents[agent] = window = [];
            window.RemoveAll(e => now - e.At >= Window);
            if (options.RequestsPerMinute > 0 && window.Count >= options.RequestsPerMinute)
            {
                refusal = Limited($"more than {options.RequestsPerMinute} LLM requests per minute from this agent", window[0].At + Window - now);
                return null;
            }
            if (options.TokensPerMinute > 0)
            {
                if (tokens > options.TokensPerMinute)
                {
                    refusal = new LlmRefusal(429, Contracts.ErrorCodes.RateLimited,
                        $"this call may use {tokens} tokens, more than the {options.TokensPerMinute} per minute this agent may use; ask for fewer (max_tokens)");
                    return null;
                }
                var used = window.Sum(e => e.Tokens);
                if (used + tokens > options.TokensPerMinute)
                {
                    // Wait until enough of the window's oldest calls have left it.
                    var freed = 0L;
                    var wait = Window;
                    foreach (var e in window)
                    {
                        freed += e.Tokens;
                        if (used - freed + tokens <= options.TokensPerMinute)
                        {
                            wait = e.At + Window - now;
                            break;
                        }
                    }
                    refusal = Limited($"this agent used {used} of its {options.TokensPerMinute} tokens per minute; this call may use {tokens}", wait);
                    return null;
                }
            }
            var entry = new Entry(now, tokens);
            window.Add(entry);
            return entry;
        }
    }

    /// <summary>Corrects an admitted call's tokens (to its reservation, then to its charge).</summary>
    public void Correct(Entry? entry, long tokens)
    {
        if (entry is null) return;
        lock (_agents) entry.Tokens = tokens;
    }

    private static LlmRefusal Limited(string message, TimeSpan wait) =>
        new(429, Contracts.ErrorCodes.RateLimited, message, null, wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait);
}
