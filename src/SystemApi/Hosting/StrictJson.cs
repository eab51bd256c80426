using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using CyAgents.Contracts;

namespace CyAgents.SystemApi.Hosting;

/// <summary>
/// Request bodies are read as strictly as the bid-file parser reads bid files: a duplicate property, a number sent as a
/// string, an unknown property or a missing number is a 400 validation answer, never a guess. Duplicates and
/// quoted numbers are refused for every body the API binds (no client sends either on purpose); unknown and missing
/// properties only for the API's own request types in <see cref="Requests"/>, so an endpoint that speaks someone else's
/// schema (the OpenAI-compatible gateway) stays tolerant of fields it does not model.
/// </summary>
public static class StrictJson
{
    /// <summary>The request types whose bodies are checked member by member.</summary>
    public static readonly IReadOnlySet<Type> Requests = new HashSet<Type>
    {
        typeof(PlaceBidRequest), typeof(ResourceBundleDto), typeof(SpawnRequest), typeof(CreateAgentRequest), typeof(AskPromptRequest),
        typeof(AnswerPromptRequest), typeof(LlmCompletionRequest),
    };

    /// <summary>Makes <paramref name="options"/> strict and puts the contracts' metadata first.</summary>
    public static void Apply(JsonSerializerOptions options)
    {
        options.AllowDuplicateProperties = false;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.TypeInfoResolverChain.Insert(0, ContractsJsonContext.Default.WithAddedModifier(Tighten));
    }

    private static void Tighten(JsonTypeInfo type)
    {
        if (!Requests.Contains(type.Type)) return;
        type.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        foreach (var property in type.Properties)
        {
            // A number without a default is a required field of the schema: absent, it is refused rather than read as 0
            // (a bundle without memoryMiB, an answer without reward). Nullable members stay optional for the reader:
            // the endpoint refuses a missing one field by field ("name: is required").
            if (property.AssociatedParameter is { HasDefaultValue: false, IsMemberInitializer: false }
                && property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null)
                property.IsRequired = true;
        }
    }
}
