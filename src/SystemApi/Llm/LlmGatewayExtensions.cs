using CyAgents.SystemApi.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Llm;

/// <summary>Registration of the LLM gateway: validated options, the providers, the router, limits, meter and gateway.</summary>
internal static class LlmGatewayExtensions
{
    public static IServiceCollection AddLlmGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.BindValidated<LlmGatewayOptions>(configuration, LlmGatewayOptions.Section, o => o.Validate());
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<LlmGatewayOptions>>().Value);
        services.TryAddSingleton<LlmRouter>(sp =>
        {
            var options = sp.GetRequiredService<LlmGatewayOptions>();
            // One connection pool for every provider; attempts are timed by each provider's pipeline, not by HttpClient.
            var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
            var providers = options.EffectiveProviders.Select(p => p.Kind == LlmProviderKinds.OpenAiCompatible
                ? (ILlmProvider)new OpenAiCompatibleProvider(p, http)
                : new LocalProvider(p));
            return new LlmRouter(providers, options, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp => new LlmRateLimits(sp.GetRequiredService<LlmGatewayOptions>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<TokenMeter>();
        services.TryAddSingleton<LlmGateway>();
        // Asked before the default writer (registered by AddProblemDetails), so the OpenAI paths answer in OpenAI's shape.
        services.AddSingleton<Microsoft.AspNetCore.Http.IProblemDetailsWriter, OpenAiProblemWriter>();
        return services;
    }
}
