using System.Net;
using System.Text;
using CyAgents.Contracts;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

/// <summary>Refusals every endpoint shares: no token, oversized bodies, the operator's own bad inputs.</summary>
public class CommonRefusalTests
{
    public static TheoryData<string, string> ProtectedEndpoints => new()
    {
        { "GET", ApiRoutes.Balance }, { "GET", ApiRoutes.Transactions }, { "POST", ApiRoutes.Bids }, { "GET", ApiRoutes.Bids },
        { "GET", ApiRoutes.Bid("b") }, { "POST", ApiRoutes.CancelBid("b") }, { "POST", ApiRoutes.Spawn }, { "GET", ApiRoutes.Self },
        { "GET", ApiRoutes.Agent("a") }, { "GET", ApiRoutes.Lineage("a") }, { "POST", ApiRoutes.Prompts }, { "GET", ApiRoutes.Prompts },
        { "GET", ApiRoutes.Prompt("p") }, { "GET", ApiRoutes.OperatorPrompts }, { "POST", ApiRoutes.AnswerPrompt("p") },
        { "GET", ApiRoutes.Cycles }, { "GET", ApiRoutes.Executions }, { "POST", ApiRoutes.LlmComplete },
    };

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task Every_protected_endpoint_refuses_a_request_without_a_token_and_changes_nothing(string method, string path)
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("alice", 100);
        var before = await api.SnapshotAsync();
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");

        var response = await api.ClientWith(null).SendAsync(request);

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData(ApiRoutes.Bids, false)]
    [InlineData(ApiRoutes.Spawn, false)]
    [InlineData(ApiRoutes.Prompts, false)]
    [InlineData(ApiRoutes.LlmComplete, false)]
    [InlineData("/v1/operator/prompts/p/answer", true)]
    public async Task Every_post_refuses_a_body_over_64_KiB_and_changes_nothing(string path, bool asOperator)
    {
        await using var api = new ApiFactory();
        var token = asOperator ? ApiFactory.OperatorSecret : await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        var body = "{\"question\":\"" + new string('x', 64 * 1024) + "\"}";

        var response = await api.ClientWith(token).PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, ErrorCodes.BodyTooLarge);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task The_operator_prompt_list_refuses_an_unknown_status()
    {
        await using var api = new ApiFactory();
        var response = await api.ClientWith(ApiFactory.OperatorSecret).GetAsync(ApiRoutes.OperatorPrompts + "?status=lost");
        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("status").ShouldNotBeEmpty();
    }
}
