using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using OpenAI.Chat;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>The official OpenAI .NET library as the client of the gateway: every result and failure is the library's own.</summary>
public sealed class LlmOpenAiSdkTests
{
    [Fact]
    public async Task A_plain_call_answers_through_the_sdk_and_charges_exactly_the_reported_usage()
    {
        await using var world = await LlmWorld.StartAsync(10_000);

        ChatCompletion answer = await world.Chat("echo").CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("What should I bid?")],
            new ChatCompletionOptions { MaxOutputTokenCount = 50, Temperature = 0.2f });

        answer.Content[0].Text.ShouldBe("echo: What should I bid?");
        answer.FinishReason.ShouldBe(ChatFinishReason.Stop);
        answer.Usage.TotalTokenCount.ShouldBeGreaterThan(0);
        (await world.TokensUsedAsync()).ShouldBe(answer.Usage.TotalTokenCount);
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        call.ChargedTokens.ShouldBe(answer.Usage.TotalTokenCount);
        call.PromptTokens.ShouldBe(answer.Usage.InputTokenCount);
        call.Outcome.ShouldBe(LlmCallOutcome.Succeeded);
        call.Provider.ShouldBe("echo");
        call.ReservedTokens.ShouldBeGreaterThanOrEqualTo(call.ChargedTokens);
    }

    [Fact]
    public async Task A_streamed_call_arrives_in_chunks_with_a_final_usage_update_that_the_charge_equals()
    {
        await using var world = await LlmWorld.StartAsync(10_000);
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        var updates = 0;

        await foreach (var update in world.Chat("echo").CompleteChatStreamingAsync([new UserChatMessage("stream a fairly long answer back to me, please")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
        }

        text.ToString().ShouldBe("echo: stream a fairly long answer back to me, please");
        updates.ShouldBeGreaterThan(3);
        usage.ShouldNotBeNull();
        (await world.TokensUsedAsync()).ShouldBe(usage.TotalTokenCount);
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        call.Stream.ShouldBeTrue();
        call.ChargedTokens.ShouldBe(usage.TotalTokenCount);
    }

    [Fact]
    public async Task Tools_tool_choice_and_response_format_reach_the_provider_unchanged_and_the_tool_call_comes_back()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("", 40, 9, new JsonArray(new JsonObject
        {
            ["id"] = "call_1", ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "place_bid", ["arguments"] = "{\"credits\":12}" },
        })));
        await using var world = await LlmWorld.StartAsync(10_000, upstream.Provider(0, "gpt-test"));
        var tool = ChatTool.CreateFunctionTool("place_bid", "Bid credits for a bundle",
            BinaryData.FromString("""{"type":"object","properties":{"credits":{"type":"integer"}},"required":["credits"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), TopP = 0.9f };
        options.StopSequences.Add("END");

        ChatCompletion answer = await world.Chat("gpt-test").CompleteChatAsync([new UserChatMessage("bid for me")], options);

        answer.FinishReason.ShouldBe(ChatFinishReason.ToolCalls);
        answer.ToolCalls.ShouldHaveSingleItem().FunctionName.ShouldBe("place_bid");
        answer.ToolCalls[0].FunctionArguments.ToString().ShouldBe("{\"credits\":12}");
        var (sent, authorization) = upstream.Requests.ShouldHaveSingleItem();
        sent["tools"]![0]!["function"]!["name"]!.GetValue<string>().ShouldBe("place_bid");
        sent["tools"]![0]!["function"]!["parameters"]!["required"]![0]!.GetValue<string>().ShouldBe("credits");
        sent["tool_choice"]!.GetValue<string>().ShouldBe("required");
        sent["top_p"]!.GetValue<double>().ShouldBe(0.9, 1e-6);
        sent["stop"]![0]!.GetValue<string>().ShouldBe("END");
        authorization.ShouldBe("Bearer sk-fake-upstream-key"); // the host's key, never the agent's token
        (await world.TokensUsedAsync()).ShouldBe(49);
        (await world.CallEventsAsync(1)).ShouldHaveSingleItem();
        (await File.ReadAllTextAsync(world.Api.LogPath)).ShouldNotContain("sk-fake-upstream-key");
    }

    [Fact]
    public async Task A_call_whose_bound_exceeds_what_is_left_is_refused_as_the_sdks_own_exception_and_charges_nothing()
    {
        await using var world = await LlmWorld.StartAsync(300);

        var refused = await Should.ThrowAsync<ClientResultException>(() =>
            world.Chat("echo").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 5000 }));

        refused.Status.ShouldBe(422);
        refused.Message.ShouldContain(ErrorCodes.TokenBudgetExceeded);
        (await world.TokensUsedAsync()).ShouldBe(0);
        (await world.CallsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_provider_that_keeps_failing_surfaces_as_a_502_client_result_exception_and_charges_nothing()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Fail(500));
        await using var world = await LlmWorld.StartAsync(10_000, upstream.Provider(0, "gpt-test"));

        var failed = await Should.ThrowAsync<ClientResultException>(() => world.Chat("gpt-test").CompleteChatAsync([new UserChatMessage("hi")]));

        failed.Status.ShouldBe(502);
        failed.Message.ShouldContain(ErrorCodes.LlmProviderFailed);
        upstream.Count.ShouldBe(2); // one retry (MaxAttempts 2), then no provider left
        (await world.TokensUsedAsync()).ShouldBe(0);
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        (call.Outcome, call.ChargedTokens, call.Attempts).ShouldBe((LlmCallOutcome.ProviderFailed, 0L, 2));
    }

    [Fact]
    public async Task A_wrong_key_is_an_authentication_error_in_openais_shape()
    {
        await using var world = await LlmWorld.StartAsync(1000);

        var refused = await Should.ThrowAsync<ClientResultException>(() => world.Chat("echo", key: "not-a-token").CompleteChatAsync([new UserChatMessage("hi")]));

        refused.Status.ShouldBe(401);
        var body = JsonNode.Parse(refused.GetRawResponse()!.Content.ToString())!;
        body["error"]!["code"]!.GetValue<string>().ShouldBe(ErrorCodes.Unauthenticated);
        body["error"]!["type"]!.GetValue<string>().ShouldBe("authentication_error");
        body["error"]!.AsObject().ContainsKey("param").ShouldBeTrue();
    }

    [Fact]
    public async Task An_unknown_model_is_a_404_naming_the_model_parameter()
    {
        await using var world = await LlmWorld.StartAsync(1000);

        var refused = await Should.ThrowAsync<ClientResultException>(() => world.Chat("gpt-9").CompleteChatAsync([new UserChatMessage("hi")]));

        refused.Status.ShouldBe(404);
        var error = JsonNode.Parse(refused.GetRawResponse()!.Content.ToString())!["error"]!;
        (error["code"]!.GetValue<string>(), error["param"]!.GetValue<string>()).ShouldBe((ErrorCodes.NotFound, "model"));
    }

    [Fact]
    public async Task Models_lists_what_the_providers_serve_and_embeddings_come_from_a_provider_that_offers_them()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("", 7, 0));
        var settings = upstream.Provider(0, "embed-test");
        settings["Llm:Providers:1:Name"] = "local";
        settings["Llm:Providers:1:Kind"] = "echo";
        settings["Llm:Providers:1:Models:0"] = "echo";
        await using var world = await LlmWorld.StartAsync(1000, settings);

        var models = await new OpenAI.Models.OpenAIModelClient(new ApiKeyCredential(world.Token), world.ClientOptions()).GetModelsAsync();
        models.Value.Select(m => (m.Id, m.OwnedBy)).Order().ShouldBe([("echo", "local"), ("embed-test", "fake")]);

        var embedding = await world.Embeddings("embed-test").GenerateEmbeddingAsync("a bundle of tokens");

        embedding.Value.ToFloats().Length.ShouldBe(3);
        (await world.TokensUsedAsync()).ShouldBe(7);
        (await world.CallsAsync()).ShouldHaveSingleItem().Route.ShouldBe("embeddings");
    }

    [Theory]
    [InlineData("""{"model":"echo","messages":[{"role":"user","content":"hi"}],"max_tokens":"10"}""", "max_tokens")]
    [InlineData("""{"model":"echo","messages":[{"role":"user","content":"hi"}],"model":"gpt-4"}""", "body")]
    [InlineData("""{"model":"echo","messages":[]}""", "messages")]
    [InlineData("""{"model":"echo","messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"echo","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    public async Task A_malformed_body_is_a_400_in_openais_shape_and_charges_nothing(string body, string param)
    {
        await using var world = await LlmWorld.StartAsync(1000);

        var response = await world.Api.ClientWith(world.Token).PostAsync(ApiRoutes.ChatCompletions, new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        error["code"]!.GetValue<string>().ShouldBe(ErrorCodes.Validation);
        if (param != "body") error["param"]!.GetValue<string>().ShouldBe(param);
        else error["message"]!.GetValue<string>().ShouldContain("JSON");
        (await world.TokensUsedAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task The_operator_lists_the_calls_and_an_agent_may_not()
    {
        await using var world = await LlmWorld.StartAsync(10_000);
        await world.Chat("echo").CompleteChatAsync([new UserChatMessage("one")]);
        await world.Chat("echo").CompleteChatAsync([new UserChatMessage("two")]);

        var calls = await world.Api.TypedClient(ApiFactory.OperatorSecret).GetLlmCallsAsync(world.ExecutionId);

        calls.Items.Count.ShouldBe(2);
        calls.Items.ShouldAllBe(c => c.Outcome == "Succeeded" && c.Model == "echo" && c.AgentId == "alice" && c.ChargedTokens > 0);
        string.CompareOrdinal(calls.Items[0].Id, calls.Items[1].Id).ShouldBeGreaterThan(0); // newest first
        calls.Items.Sum(c => c.ChargedTokens).ShouldBe(await world.TokensUsedAsync());
        (await world.Api.ClientWith(world.Token).GetAsync(ApiRoutes.OperatorLlmCalls)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var events = await world.CallEventsAsync(2);
        events.Count.ShouldBe(2);
        events.ShouldAllBe(e => e.GetProperty("Properties").GetProperty("Component").GetString() == "SystemApi");
    }
}
