using CyAgents.Contracts;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.OpenApi;

namespace CyAgents.SystemApi.Tests;

public class OpenApiDocumentTests
{
    private static readonly (string Path, string Method, bool Secured)[] Endpoints =
    [
        ("/health", "GET", false),
        ("/v1/market/prices", "GET", false),
        ("/v1/market/history", "GET", false),
        ("/v1/economy/balance", "GET", true),
        ("/v1/economy/transactions", "GET", true),
        ("/v1/bids", "POST", true),
        ("/v1/bids", "GET", true),
        ("/v1/bids/{bidId}", "GET", true),
        ("/v1/bids/{bidId}/cancel", "POST", true),
        ("/v1/spawn", "POST", true),
        ("/v1/agents/self", "GET", true),
        ("/v1/agents/{agentId}", "GET", true),
        ("/v1/agents/{agentId}/lineage", "GET", true),
        ("/v1/agents/{agentId}/history", "GET", true),
        ("/v1/prompts", "POST", true),
        ("/v1/prompts", "GET", true),
        ("/v1/prompts/{promptId}", "GET", true),
        ("/v1/operator/prompts", "GET", true),
        ("/v1/operator/agents", "POST", true),
        ("/v1/operator/prompts/{promptId}/answer", "POST", true),
        ("/v1/cycles", "GET", true),
        ("/v1/executions", "GET", true),
        ("/v1/llm/complete", "POST", true),
        ("/v1/operator/llm/calls", "GET", true),
        ("/v1/chat/completions", "POST", true),
        ("/v1/embeddings", "POST", true),
        ("/v1/models", "GET", true),
        ("/v1/agents", "GET", true),
        ("/v1/operator/agents/{agentId}", "GET", true),
        ("/v1/operator/bids", "GET", true),
        ("/v1/operator/transfers", "GET", true),
        ("/v1/operator/session", "POST", true),
        ("/v1/operator/session", "DELETE", true),
    ];

    private static async Task<OpenApiDocument> LoadAsync(ApiFactory api)
    {
        await using var stream = await api.ClientWith(null).GetStreamAsync(ApiRoutes.OpenApi);
        var result = await OpenApiDocument.LoadAsync(stream, "json");
        result.Diagnostic!.Errors.ShouldBeEmpty();
        return result.Document!;
    }

    [Fact]
    public async Task The_document_parses_and_lists_every_endpoint_with_a_summary_and_a_typed_success_response()
    {
        await using var api = new ApiFactory();
        var doc = await LoadAsync(api);

        var listed = doc.Paths.SelectMany(p => p.Value.Operations!.Select(o => (p.Key, o.Key.Method))).ToHashSet();
        listed.ShouldBe(Endpoints.Select(e => (e.Path, e.Method)).ToHashSet(), ignoreOrder: true);
        foreach (var (path, method, _) in Endpoints)
        {
            var operation = doc.Paths[path].Operations![new HttpMethod(method)];
            operation.Summary.ShouldNotBeNullOrWhiteSpace($"{method} {path}");
            var success = operation.Responses!.First(r => r.Key.StartsWith('2'));
            // 204 No Content has no body to type.
            if (success.Key != "204") success.Value.Content!["application/json"].Schema.ShouldNotBeNull($"{method} {path}");
        }
    }

    [Fact]
    public async Task Request_and_response_schemas_are_described()
    {
        await using var api = new ApiFactory();
        var doc = await LoadAsync(api);

        var schemas = doc.Components!.Schemas!;
        foreach (var name in new[] { "PlaceBidRequest", "BidResponse", "ResourceBundleDto", "SpawnRequest", "SpawnResponse", "BalanceResponse",
                     "MarketPricesResponse", "PromptResponse", "AnswerPromptRequest", "LineageNode", "WorkspaceHistoryPage", "WorkspaceCommitDto" })
            schemas.Keys.ShouldContain(name);
        schemas["PlaceBidRequest"].Properties!.Keys.ShouldBe(["bundle", "amount"], ignoreOrder: true);
        schemas["ResourceBundleDto"].Properties!.Keys.ShouldBe(["cpuMillicores", "memoryMiB", "tokens", "attentionBasisPoints"], ignoreOrder: true);
        var placeBid = doc.Paths["/v1/bids"].Operations![HttpMethod.Post];
        placeBid.RequestBody!.Content!["application/json"].Schema.ShouldNotBeNull();
        foreach (var status in new[] { "400", "401", "402", "403", "409", "413", "422", "429" })
            placeBid.Responses![status].Content!["application/problem+json"].Schema.ShouldNotBeNull(status);
        placeBid.Parameters!.ShouldContain(p => p.Name == ApiRoutes.IdempotencyKeyHeader && p.In == ParameterLocation.Header);
    }

    [Fact]
    public async Task Error_schemas_carry_the_stable_code_and_the_bundle_requires_all_four_quantities()
    {
        await using var api = new ApiFactory();
        var doc = await LoadAsync(api);

        var schemas = doc.Components!.Schemas!;
        foreach (var name in new[] { "ProblemDetails", "HttpValidationProblemDetails" })
        {
            schemas[name].Properties!.Keys.ShouldContain("code", name);
            schemas[name].Required!.ShouldContain("code", name);
        }
        schemas["ResourceBundleDto"].Required!.ShouldBe(["cpuMillicores", "memoryMiB", "tokens", "attentionBasisPoints"], ignoreOrder: true);
        var placeBid = doc.Paths["/v1/bids"].Operations![HttpMethod.Post];
        placeBid.Responses!["415"].Content!["application/problem+json"].Schema.ShouldNotBeNull();
    }

    [Fact]
    public async Task Bearer_authentication_is_described_and_required_where_a_token_is()
    {
        await using var api = new ApiFactory();
        var doc = await LoadAsync(api);

        var scheme = doc.Components!.SecuritySchemes!["Bearer"];
        scheme.Type.ShouldBe(SecuritySchemeType.Http);
        scheme.Scheme.ShouldBe("bearer");
        foreach (var (path, method, secured) in Endpoints)
        {
            var operation = doc.Paths[path].Operations![new HttpMethod(method)];
            (operation.Security is { Count: > 0 }).ShouldBe(secured, $"{method} {path}");
        }
    }
}
