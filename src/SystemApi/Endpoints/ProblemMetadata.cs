using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>Declares the problem responses an endpoint can give, so the OpenAPI document lists them with their schema.</summary>
internal static class ProblemMetadata
{
    private static readonly string[] ProblemJson = ["application/problem+json"];

    /// <summary>Problem statuses specific to one endpoint (400 is always described as a validation problem).</summary>
    public static RouteHandlerBuilder Refuses(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
            builder.WithMetadata(new ProducesResponseTypeMetadata(status,
                status == StatusCodes.Status400BadRequest ? typeof(HttpValidationProblemDetails) : typeof(ProblemDetails), ProblemJson));
        return builder;
    }

    /// <summary>What every token-protected endpoint can answer: 401 unauthenticated, 403 forbidden, 429 rate limited.</summary>
    public static RouteGroupBuilder RequiresToken(this RouteGroupBuilder group, string policy)
    {
        group.RequireAuthorization(policy);
        foreach (var status in new[] { StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status429TooManyRequests })
            group.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ProblemJson));
        return group;
    }
}
