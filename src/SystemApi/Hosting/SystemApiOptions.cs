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

    /// <summary>Longest question an agent may ask, in characters.</summary>
    public int MaxQuestionLength { get; set; } = 4000;

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
}

/// <summary>Spawn rules (configuration section <c>Spawn</c>).</summary>
public sealed class SpawnOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Spawn";

    /// <summary>Credits the parent pays the treasury per child.</summary>
    public long Fee { get; set; } = 10;

    /// <summary>Smallest endowment a child may get.</summary>
    public long MinEndowment { get; set; } = 1;

    /// <summary>Deepest generation allowed (genesis is 0).</summary>
    public int MaxGeneration { get; set; } = 8;

    /// <summary>Children one parent may spawn in one cycle.</summary>
    public int MaxChildrenPerCycle { get; set; } = 3;
}

/// <summary>Where workspaces live (configuration section <c>Workspaces</c>).</summary>
public sealed class WorkspaceOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Workspaces";

    /// <summary>Folder holding one workspace per agent.</summary>
    public string Root { get; set; } = "workspaces";

    /// <summary>Template copied into every new agent's workspace.</summary>
    public string Template { get; set; } = "workspaces/genesis";
}

/// <summary>
/// Supply used before any cycle has recorded its market state (configuration <c>Market:Supply:{Cpu,Memory,Tokens,Attention}</c>).
/// Initial prices come from the pricing rule's options (<c>Market:Pricing:Initial*</c>).
/// </summary>
public sealed class MarketDefaultsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Market";

    /// <summary>Units on offer per cycle.</summary>
    public KindValues<long> Supply { get; set; } = new() { Cpu = 4000, Memory = 4096, Tokens = 100_000, Attention = 10_000 };
}

/// <summary>One value per resource kind, as configuration binds it.</summary>
public sealed class KindValues<T> where T : struct
{
    /// <summary>CPU (millicores).</summary>
    public T Cpu { get; set; }
    /// <summary>Memory (MiB).</summary>
    public T Memory { get; set; }
    /// <summary>LLM tokens.</summary>
    public T Tokens { get; set; }
    /// <summary>Human attention (basis points).</summary>
    public T Attention { get; set; }
}
