using CyAgents.Economy.Resources;
using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Llm;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>The old one-prompt route, now an alias of the chat completions gateway (ADR 0090).</summary>
public class LlmProxyTests
{
    private static async Task<string> RunningExecutionAsync(ApiFactory api, long grantedTokens)
    {
        var token = await api.AgentTokenAsync("alice", 0, executionId: "exe-llm");
        await using var db = await api.DbAsync();
        db.Add(new ExecutionRecord { Id = "exe-llm", AgentId = "alice", Cycle = 1, Status = ExecutionStatus.Running, Granted = ResourceBundle.Create(tokens: grantedTokens) });
        await db.SaveChangesAsync();
        return token;
    }

    private static async Task<long> TokensUsedAsync(ApiFactory api)
    {
        await using var db = await api.DbAsync();
        return (await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == "exe-llm")).TokensUsed;
    }

    [Fact]
    public async Task A_completion_is_answered_by_the_local_echo_provider_and_metered_against_the_won_tokens()
    {
        await using var api = new ApiFactory();
        var token = await RunningExecutionAsync(api, 1000);

        var answer = await api.TypedClient(token).CompleteAsync(new LlmCompletionRequest("What should I bid?", 50));

        answer.Provider.ShouldBe("echo");
        answer.Text.ShouldBe("echo: What should I bid?");
        answer.PromptTokens.ShouldBe(5);
        answer.CompletionTokens.ShouldBe(6); // "echo: What should I bid?" is 24 characters
        answer.TokensUsed.ShouldBe(11);
        answer.TokensGranted.ShouldBe(1000);
        (await TokensUsedAsync(api)).ShouldBe(11);
    }

    [Fact]
    public async Task A_call_that_could_exceed_the_won_tokens_is_refused_and_meters_nothing()
    {
        await using var api = new ApiFactory();
        var token = await RunningExecutionAsync(api, 100);
        await api.TypedClient(token).CompleteAsync(new LlmCompletionRequest("first", 10));
        var used = await TokensUsedAsync(api);

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.LlmComplete, new LlmCompletionRequest("second", 99));

        await response.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ErrorCodes.TokenBudgetExceeded);
        (await TokensUsedAsync(api)).ShouldBe(used);
    }

    [Fact]
    public async Task A_failing_provider_releases_the_reserved_tokens()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Fail(503));
        var settings = upstream.Provider(0, "m");
        settings["Llm:RetryDelayMilliseconds"] = "1";
        await using var api = new ApiFactory(settings);
        var token = await RunningExecutionAsync(api, 1000);

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.LlmComplete, new LlmCompletionRequest("hello", 100));

        await response.ShouldBeProblemAsync(HttpStatusCode.BadGateway, ErrorCodes.LlmProviderFailed);
        (await TokensUsedAsync(api)).ShouldBe(0);
    }

    [Theory]
    [InlineData("", 10, "prompt")]
    [InlineData("hi", 0, "maxTokens")]
    public async Task An_invalid_completion_request_is_refused_field_by_field(string prompt, int maxTokens, string field)
    {
        await using var api = new ApiFactory();
        var token = await RunningExecutionAsync(api, 1000);

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.LlmComplete, new LlmCompletionRequest(prompt, maxTokens));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors(field).ShouldNotBeEmpty();
        (await TokensUsedAsync(api)).ShouldBe(0);
    }

    [Fact]
    public async Task Without_an_execution_record_there_is_nothing_to_meter_against()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 0);
        await (await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.LlmComplete, new LlmCompletionRequest("hi", 5)))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
    }
}
