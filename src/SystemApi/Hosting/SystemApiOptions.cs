namespace CyAgents.SystemApi.Hosting;

/// <summary>Settings of the System API (configuration section <c>SystemApi</c>).</summary>
public sealed class SystemApiOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "SystemApi";

    /// <summary>Unix socket to listen on (bind-mounted into sandboxes); empty for none.</summary>
    public string? SocketPath { get; set; } = "data/api/system-api.sock";

    /// <summary>Loopback TCP addresses, <c>;</c>-separated (default <c>http://127.0.0.1:5080</c>); empty for none. Non-loopback hosts are refused.</summary>
    public string? Urls { get; set; } = "http://127.0.0.1:5080";

    /// <summary>File holding the operator token (created 0600 on first start).</summary>
    public string OperatorTokenFile { get; set; } = "data/operator.token";

    /// <summary>Operator token given by configuration; replaces the file's token when set.</summary>
    public string? OperatorToken { get; set; }

    /// <summary>Largest request body accepted, in bytes (64 KiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Longest request target (path and query) accepted, in characters; longer ones get 414 uri_too_long.</summary>
    public int MaxRequestTargetLength { get; set; } = 4096;

    /// <summary>Largest total size of the request headers, in bytes; larger gets 431 headers_too_large.</summary>
    public int MaxRequestHeadersBytes { get; set; } = 16 * 1024;

    /// <summary>Most request headers accepted; more get 431 headers_too_large.</summary>
    public int MaxRequestHeaderCount { get; set; } = 64;

    /// <summary>
    /// Most connections open at once over both listeners (Kestrel's <c>MaxConcurrentConnections</c>); beyond it a new
    /// connection is closed at once.
    /// </summary>
    public long MaxConcurrentConnections { get; set; } = 1024;

    /// <summary>
    /// Requests per second allowed to each connection source that sends no valid token (anonymous reads and failed
    /// authentication): per client address on TCP; on the unix socket every caller shares one source.
    /// </summary>
    public int AnonymousRateLimitPerSecond { get; set; } = 20;

    /// <summary>Burst size of the anonymous rate limit.</summary>
    public int AnonymousRateLimitBurst { get; set; } = 40;

    /// <summary>Least CPU an executable bundle may ask for, in millicores: a bid below it is refused (no container runs uncapped).</summary>
    public long MinBidCpuMillicores { get; set; } = 50;

    /// <summary>Least memory an executable bundle may ask for, in MiB.</summary>
    public long MinBidMemoryMiB { get; set; } = 16;

    /// <summary>Longest question an agent may ask, in characters.</summary>
    public int MaxQuestionLength { get; set; } = 4000;

    /// <summary>
    /// Attention (basis points of one cycle's human) every prompt costs, summed per execution against the attention its
    /// bundle won (ADR 0135); a prompt beyond the share is refused with <c>attention_exhausted</c>.
    /// </summary>
    public long AttentionPerPrompt { get; set; } = CyAgents.Economy.Attention.PromptAttention.Default.PerPrompt;

    /// <summary>Attention a prompt costs in addition, per started thousand characters of its question.</summary>
    public long AttentionPerThousandCharacters { get; set; } = CyAgents.Economy.Attention.PromptAttention.Default.PerThousandCharacters;

    /// <summary>The attention rule these settings describe.</summary>
    public CyAgents.Economy.Attention.PromptAttention PromptAttention => new(AttentionPerPrompt, AttentionPerThousandCharacters);

    /// <summary>Largest reward the operator may pay for one answer.</summary>
    public long MaxPromptReward { get; set; } = 1_000_000;

    /// <summary>Largest page a list endpoint returns.</summary>
    public int MaxPageSize { get; set; } = 200;

    /// <summary>Per-agent rate limit: requests replenished per second (token bucket).</summary>
    public int RateLimitPerSecond { get; set; } = 100;

    /// <summary>Per-agent rate limit: burst size (bucket capacity).</summary>
    public int RateLimitBurst { get; set; } = 200;

    /// <summary>
    /// How long an accepted agent token is remembered, in milliseconds (0 = ask the database every time). Revocation on
    /// this host takes effect at once; a revocation by another host sharing the database, within this time.
    /// </summary>
    public int TokenCacheMilliseconds { get; set; } = 2000;

    /// <summary>How long the market snapshot behind <c>/v1/market/prices</c> is cached, in milliseconds.</summary>
    public int MarketCacheMilliseconds { get; set; } = 1000;

    /// <summary>What is wrong, one message per setting, each starting with its key below <c>SystemApi</c>; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void AtLeast(string key, long value, long least)
        {
            if (value < least) errors.Add($"{key} must be at least {least} (got {value})");
        }
        AtLeast(nameof(MaxRequestBodyBytes), MaxRequestBodyBytes, 1024);
        AtLeast(nameof(MaxRequestTargetLength), MaxRequestTargetLength, 256);
        AtLeast(nameof(MaxRequestHeadersBytes), MaxRequestHeadersBytes, 1024);
        AtLeast(nameof(MaxRequestHeaderCount), MaxRequestHeaderCount, 8);
        AtLeast(nameof(MaxConcurrentConnections), MaxConcurrentConnections, 1);
        AtLeast(nameof(AnonymousRateLimitPerSecond), AnonymousRateLimitPerSecond, 1);
        AtLeast(nameof(AnonymousRateLimitBurst), AnonymousRateLimitBurst, 1);
        // A bundle below a minimum of 1 would reach the engine as 0, which it reads as "no limit".
        AtLeast(nameof(MinBidCpuMillicores), MinBidCpuMillicores, 1);
        AtLeast(nameof(MinBidMemoryMiB), MinBidMemoryMiB, 1);
        AtLeast(nameof(MaxQuestionLength), MaxQuestionLength, 1);
        AtLeast(nameof(MaxPromptReward), MaxPromptReward, 1);
        AtLeast(nameof(MaxPageSize), MaxPageSize, 1);
        AtLeast(nameof(RateLimitPerSecond), RateLimitPerSecond, 1);
        AtLeast(nameof(RateLimitBurst), RateLimitBurst, 1);
        AtLeast(nameof(TokenCacheMilliseconds), TokenCacheMilliseconds, 0);
        AtLeast(nameof(MarketCacheMilliseconds), MarketCacheMilliseconds, 0);
        errors.AddRange(PromptAttention.Validate());
        return errors;
    }
}
