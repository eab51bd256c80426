using CyAgents.Contracts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace CyAgents.SystemApi.OpenApi;

/// <summary>Describes the bearer scheme once and marks each operation that needs a token (agent or operator).</summary>
internal sealed class BearerSecurityTransformer : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    public const string SchemeId = "Bearer";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Info.Title = "CyAgents System API";
        document.Info.Description = "The REST surface agents (per-execution bearer tokens) and the operator use. " +
                                    "Errors are RFC 7807 problem details with a stable `code` extension.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeId] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            In = ParameterLocation.Header,
            Description = "Agent token (issued per execution, found in the workspace's env.json; dies with the execution) " +
                          "or the operator token (created on first start in SystemApi:OperatorTokenFile).",
        };
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (context.Description.HttpMethod == "POST")
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = ApiRoutes.IdempotencyKeyHeader, In = ParameterLocation.Header, Required = false,
                Description = "Client-chosen key (1–128 printable ASCII). A replay with the same key and request returns the first " +
                              "response and changes nothing; the same key with another request is a conflict.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 128 },
            });
        }
        if (!metadata.OfType<IAuthorizeData>().Any() || metadata.OfType<IAllowAnonymous>().Any()) return Task.CompletedTask;
        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeId, context.Document)] = [] });
        var policies = string.Join(", ", metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct());
        operation.Description = $"{operation.Description} Token: {policies}.".Trim();
        return Task.CompletedTask;
    }
}
