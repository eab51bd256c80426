using System.ClientModel;
using System.Text.Json;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using OpenAI.Chat;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>Every settled gateway call is an <c>llm.call</c> event on GET /v1/events, written with its llm_calls row.</summary>
public sealed class LlmCallEventTests
{
    private static readonly Dictionary<string, string?> FastStream = new()
    {
        ["Events:HeartbeatInterval"] = "00:00:00.200", ["Events:PollInterval"] = "00:00:00.050",
    };

    [Fact]
    public async Task Each_settled_call_is_an_llm_call_event_the_agent_sees_and_another_agent_does_not()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("Bid ten.", 14, 4), new UpstreamStep.Fail(500));
        await using var world = await LlmWorld.StartAsync(10_000, new Dictionary<string, string?>(upstream.Provider(0, "m").Concat(FastStream)));
        var chat = world.Chat("m");

        await chat.CompleteChatAsync([new UserChatMessage("What should I bid?")], new ChatCompletionOptions { MaxOutputTokenCount = 20 });
        (await Should.ThrowAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("again")]))).Status.ShouldBe(502);
        // Refused before forwarding: nothing settled, so no event.
        (await Should.ThrowAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("a novel")],
            new ChatCompletionOptions { MaxOutputTokenCount = 100_000 }))).Status.ShouldBe(422);

        var own = await EventStreamEndpointTests.ReadAsync(world.Api.ClientWith(world.Token), 2, untilHeartbeat: true);
        own.Events.Select(e => e.Type).ShouldBe([EventTypes.LlmCall, EventTypes.LlmCall]);
        var calls = (await world.CallsAsync()).OrderBy(c => c.StartedAt).ToList();
        calls.Select(c => c.Outcome).ShouldBe([LlmCallOutcome.Succeeded, LlmCallOutcome.ProviderFailed]);

        var (answered, failed) = (Data(own.Events[0].Data), Data(own.Events[1].Data));
        Envelope(own.Events[0].Data).GetProperty("agentId").GetString().ShouldBe("alice");
        answered.GetProperty("callId").GetString().ShouldBe(calls[0].Id);
        answered.GetProperty("executionId").GetString().ShouldBe(world.ExecutionId);
        (answered.GetProperty("model").GetString(), answered.GetProperty("provider").GetString()).ShouldBe(("m", upstream.Name));
        (answered.GetProperty("promptTokens").GetInt64(), answered.GetProperty("completionTokens").GetInt64(),
            answered.GetProperty("chargedTokens").GetInt64()).ShouldBe((14L, 4L, 18L));
        answered.GetProperty("reservedTokens").GetInt64().ShouldBe(calls[0].ReservedTokens);
        answered.GetProperty("latencyMs").GetInt64().ShouldBe(calls[0].LatencyMs);
        answered.GetProperty("outcome").GetString().ShouldBe("Succeeded");
        failed.GetProperty("callId").GetString().ShouldBe(calls[1].Id);
        (failed.GetProperty("outcome").GetString(), failed.GetProperty("chargedTokens").GetInt64()).ShouldBe(("ProviderFailed", 0L));
        (await world.TokensUsedAsync()).ShouldBe(18);

        // Another agent's stream stays silent; the operator sees the same two calls.
        var bob = await world.Api.AgentTokenAsync("bob", 0, executionId: "exe-bob");
        var others = await EventStreamEndpointTests.ReadAsync(world.Api.ClientWith(bob), 0, untilHeartbeat: true);
        others.Events.ShouldNotContain(e => e.Type == EventTypes.LlmCall);
        var all = await EventStreamEndpointTests.ReadAsync(world.Api.ClientWith(ApiFactory.OperatorSecret), 2, untilHeartbeat: true);
        all.Events.Where(e => e.Type == EventTypes.LlmCall).Select(e => Data(e.Data).GetProperty("callId").GetString())
            .ShouldBe(calls.Select(c => c.Id));
    }

    [Fact]
    public async Task The_row_written_by_the_settlement_reads_back_through_ef_field_by_field()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("ok", 9, 3));
        await using var world = await LlmWorld.StartAsync(10_000, upstream.Provider(0, "m"));
        var before = DateTimeOffset.UtcNow;

        var streamed = 0;
        await foreach (var _ in world.Chat("m").CompleteChatStreamingAsync([new UserChatMessage("hi")])) streamed++;

        streamed.ShouldBeGreaterThan(0);
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        call.Id.ShouldStartWith("llm-");
        (call.ExecutionId, call.AgentId, call.Cycle, call.Model, call.Provider, call.Route).ShouldBe((world.ExecutionId, "alice", 1L, "m", upstream.Name, "chat"));
        (call.Stream, call.PromptTokens, call.CompletionTokens, call.ChargedTokens, call.Attempts).ShouldBe((true, 9L, 3L, 12L, 1));
        (call.Outcome, call.Error).ShouldBe((LlmCallOutcome.Succeeded, (string?)null));
        call.ReservedTokens.ShouldBeGreaterThan(12);
        call.StartedAt.ShouldBeInRange(before.AddSeconds(-1), DateTimeOffset.UtcNow);
        call.StartedAt.Offset.ShouldBe(TimeSpan.Zero);
        (await world.TokensUsedAsync()).ShouldBe(12);
    }

    private static JsonElement Envelope(string data) => JsonDocument.Parse(data).RootElement.Clone();

    private static JsonElement Data(string data) => Envelope(data).GetProperty("data");
}
