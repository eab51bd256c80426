using CyAgents.Contracts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace CyAgents.SystemApi.OpenApi;

/// <summary>
/// Every problem answer carries the stable <c>code</c> (see <see cref="ErrorCodes"/>) that programs branch on; the
/// framework's ProblemDetails schemas do not know it, so it is added to them, required.
/// </summary>
internal sealed class ProblemCodeSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        var type = context.JsonTypeInfo.Type;
        if (type != typeof(ProblemDetails) && type != typeof(HttpValidationProblemDetails)) return Task.CompletedTask;
        schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
        schema.Properties["code"] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "Stable error code, one per kind of refusal (validation, unauthenticated, forbidden, not_found, conflict, " +
                          "unsupported_media_type, rate_limited, ...); branch on it, never on the title.",
        };
        schema.Required ??= new HashSet<string>();
        schema.Required.Add("code");
        return Task.CompletedTask;
    }
}
