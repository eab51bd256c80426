using System.Threading.RateLimiting;
using CyAgents.Contracts;
using CyAgents.Economy.Market;
using CyAgents.Persistence;
using CyAgents.SystemApi.Dashboard;
using CyAgents.SystemApi.Endpoints;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Events;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Llm;
using CyAgents.SystemApi.Logging;
using CyAgents.SystemApi.Market;
using CyAgents.SystemApi.Metrics;
using CyAgents.SystemApi.OpenApi;
using CyAgents.SystemApi.Workspaces;
using CyAgents.SystemApi.Workspaces.History;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Hosting;

/// <summary>
/// Composition of the System API. A host (the standalone Program or the orchestrator's own WebApplication) calls
/// <see cref="AddSystemApi"/> on its services and <see cref="MapSystemApi"/> on the built app.
/// </summary>
public static class SystemApiExtensions
{
    /// <summary>
    /// Registers the API: options (<c>SystemApi</c>, <c>Spawn</c>, <c>Workspaces</c>, <c>Market</c>, <c>Database</c>),
    /// the database, agent/operator tokens, Kestrel listeners (unix socket + loopback TCP only), auth, rate limits,
    /// problem details and OpenAPI. A host may register its own <see cref="LedgerBinding"/>, <see cref="TimeProvider"/> and
    /// <see cref="CycleSupply"/> first. Options are bound here once; invalid ones stop the host at start (<c>ValidateOnStart</c>).
    /// </summary>
    public static IServiceCollection AddSystemApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.BindValidated<SystemApiOptions>(configuration, SystemApiOptions.Section, o => o.Validate());
        services.Configure<SpawnOptions>(configuration.GetSection(SpawnOptions.Section));
        services.BindValidated<WorkspaceOptions>(configuration, WorkspaceOptions.Section, o => o.Validate());
        services.BindValidated<HistoryOptions>(configuration, HistoryOptions.Section, h => h.Validate());
        services.Configure<MarketDefaultsOptions>(configuration.GetSection(MarketDefaultsOptions.Section));
        services.Configure<DatabaseOptions>(configuration.GetSection(DatabaseOptions.Section));
        // A bad pricing rule stops the host at start, naming the key, instead of surfacing as odd prices later.
        services.BindValidated<PricingOptions>(configuration, PricingOptions.Section, p => p.Validate());

        services.TryAddSingleton(TimeProvider.System);
        services.Configure<EventStreamOptions>(configuration.GetSection(EventStreamOptions.Section));
        services.TryAddSingleton<EventPulse>();
        // Every commit of this process wakes the event stream's readers (GET /v1/events).
        services.AddPooledDbContextFactory<CyAgentsDbContext>((sp, o) =>
        {
            sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Apply(o);
            o.AddInterceptors(sp.GetRequiredService<EventPulse>().Interceptors);
        });
        services.TryAddSingleton<OutputEvents>();
        services.AddHostedService(sp => sp.GetRequiredService<OutputEvents>());
        services.TryAddSingleton<LedgerBinding>(DefaultLedger.Binding);
        services.TryAddSingleton<AgentTokenService>();
        services.TryAddSingleton<OperatorToken>();
        services.TryAddSingleton<OperatorSessions>();
        services.TryAddSingleton(sp => CycleSupply.From(sp.GetRequiredService<IOptions<MarketDefaultsOptions>>().Value));
        services.TryAddSingleton<MarketView>();
        services.TryAddSingleton<WorkspaceTemplate>();
        services.TryAddSingleton<WorkspaceHistory>();
        services.TryAddSingleton<GroupCommitWriter>();
        services.TryAddSingleton<IdempotentWrites>();
        services.AddMetrics();
        services.TryAddSingleton<SystemMetrics>();
        services.AddLlmGateway(configuration);
        services.AddHostedService<SystemApiStartup>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, Listeners>();

        services.ConfigureHttpJsonOptions(o => StrictJson.Apply(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            var status = c.ProblemDetails.Status ?? c.HttpContext.Response.StatusCode;
            if (!c.ProblemDetails.Extensions.ContainsKey("code"))
            {
                var code = Problems.CodeOf(status);
                c.ProblemDetails.Extensions["code"] = code;
                c.ProblemDetails.Type = Problems.TypeOf(code);
            }
        });

        services.AddAuthentication(BearerAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(BearerAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Caller.AnyPolicy, p => p.RequireAuthenticatedUser())
            .AddPolicy(Caller.AgentPolicy, p => p.RequireClaim(Caller.RoleClaim, Caller.AgentRole))
            .AddPolicy(Caller.OperatorPolicy, p => p.RequireClaim(Caller.RoleClaim, Caller.OperatorRole));

        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<SystemApiOptions>>((o, api) =>
        {
            var limits = api.Value;
            // One bucket per agent; one per connection source for requests without a valid token (anonymous reads and
            // failed authentication, so guessing tokens is slow too); the operator is not limited. On the unix socket
            // there is no client address: all its anonymous callers share one bucket.
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.User.FindFirst(Caller.AgentClaim)?.Value is { } agent
                    ? RateLimitPartition.GetTokenBucketLimiter("agent:" + agent, _ => Bucket(limits.RateLimitPerSecond, limits.RateLimitBurst))
                    : http.User.FindFirst(Caller.RoleClaim)?.Value == Caller.OperatorRole
                        ? RateLimitPartition.GetNoLimiter("operator")
                        : RateLimitPartition.GetTokenBucketLimiter("source:" + SourceOf(http),
                            _ => Bucket(limits.AnonymousRateLimitPerSecond, limits.AnonymousRateLimitBurst)));
            o.OnRejected = async (context, _) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry))
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString();
                else
                    context.HttpContext.Response.Headers.RetryAfter = "1";
                var agent = context.HttpContext.User.FindFirst(Caller.AgentClaim) is not null;
                await Problems.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, agent
                    ? $"more than {limits.RateLimitPerSecond} requests per second (burst {limits.RateLimitBurst}) from this agent"
                    : $"more than {limits.AnonymousRateLimitPerSecond} requests per second (burst {limits.AnonymousRateLimitBurst}) without a valid token from this source");
            };
        });

        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer<BearerSecurityTransformer>();
            o.AddOperationTransformer<BearerSecurityTransformer>();
            o.AddSchemaTransformer<ProblemCodeSchemaTransformer>();
        });
        return services;
    }

    /// <summary>Adds the API's middleware (problem details, auth, rate limits, log scope) and maps every endpoint.</summary>
    public static WebApplication MapSystemApi(this WebApplication app)
    {
        // First, so the durations include refusals written by the middleware below.
        app.Use(MetricsEndpoints.TimeRequest);
        app.UseMiddleware<ProblemMiddleware>();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.Use(TagLogScope);
        app.UseRateLimiter();
        app.UseAuthorization();

        HealthEndpoints.Map(app);
        MarketEndpoints.Map(app);
        EconomyEndpoints.Map(app);
        BidEndpoints.Map(app);
        SpawnEndpoints.Map(app);
        OperatorAgentEndpoints.Map(app);
        AgentEndpoints.Map(app);
        OperatorViewEndpoints.Map(app);
        HistoryEndpoints.Map(app);
        PromptEndpoints.Map(app);
        CycleEndpoints.Map(app);
        LlmEndpoints.Map(app);
        OpenAiEndpoints.Map(app);
        DashboardEndpoints.Map(app);
        DashboardSessionEndpoints.Map(app);
        MetricsEndpoints.Map(app);
        EventEndpoints.Map(app);
        app.MapOpenApi().AllowAnonymous();
        return app;
    }

    private static TokenBucketRateLimiterOptions Bucket(int perSecond, int burst) => new()
    {
        TokenLimit = burst, TokensPerPeriod = perSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
    };

    /// <summary>The connection source of a request without a valid token: the client address on TCP, one shared source on the unix socket.</summary>
    private static string SourceOf(HttpContext http) =>
        SandboxSocket.Carries(http) ? "unix-socket" : http.Connection.RemoteIpAddress?.ToString() ?? "local";

    /// <summary>Every event logged while serving a request carries the SystemApi tag and the caller's ids.</summary>
    private static async Task TagLogScope(HttpContext http, RequestDelegate next)
    {
        var user = http.User;
        var agent = user.FindFirst(Caller.AgentClaim)?.Value;
        long? cycle = long.TryParse(user.FindFirst(Caller.CycleClaim)?.Value, out var c) ? c : null;
        var log = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CyAgents.SystemApi");
        using (log.BeginSystemScope(SystemLog.SystemApi, cycle, user.FindFirst(Caller.ExecutionClaim)?.Value, agent))
            await next(http);
    }
}
