using System.ClientModel;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using OpenAI.Chat;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>
/// The gateway's settlement (hand-written statements, ADR 0124) on PostgreSQL: env CYAGENTS_TEST_POSTGRES
/// (`export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`; scripts/test does this). Fails without it.
/// </summary>
public sealed class LlmPostgresTests() : ThrowawayPostgresDatabase("cyagents_llm_")
{
    private Task<LlmWorld> WorldAsync(long granted, FakeUpstream upstream) =>
        LlmWorld.StartAsync(granted, OnThisDatabase(upstream.Provider(0, "m")));

    [Fact]
    public async Task Plain_streamed_and_failed_calls_are_charged_recorded_and_evented_together()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("a", 10, 5), new UpstreamStep.Answer("b", 7, 3), new UpstreamStep.Fail(503));
        await using var world = await WorldAsync(10_000, upstream);
        var chat = world.Chat("m");
        var before = DateTimeOffset.UtcNow;

        await chat.CompleteChatAsync([new UserChatMessage("one")]);
        await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("two")])) { }
        (await Should.ThrowAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("three")]))).Status.ShouldBe(502);

        (await world.TokensUsedAsync()).ShouldBe(25);
        var calls = (await world.CallsAsync()).OrderBy(c => c.StartedAt).ToList();
        calls.Select(c => (c.Outcome, c.Stream, c.PromptTokens, c.CompletionTokens, c.ChargedTokens)).ShouldBe(
        [
            (LlmCallOutcome.Succeeded, false, 10L, 5L, 15L), (LlmCallOutcome.Succeeded, true, 7L, 3L, 10L), (LlmCallOutcome.ProviderFailed, false, 0L, 0L, 0L),
        ]);
        calls.ShouldAllBe(c => c.StartedAt >= before.AddSeconds(-1) && c.StartedAt <= DateTimeOffset.UtcNow);
        await using var db = await world.Api.DbAsync();
        var events = await db.Set<EventRecord>().AsNoTracking().Where(e => e.Type == EventTypes.LlmCall).OrderBy(e => e.Seq).ToListAsync();
        events.Select(e => e.AgentId).ShouldBe(["alice", "alice", "alice"]);
        events.Select(e => System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("callId").GetString()).ShouldBe(calls.Select(c => c.Id));
    }

    [Fact]
    public async Task Fifty_concurrent_calls_never_charge_more_than_the_won_tokens()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("x", 60, 40));
        await using var world = await WorldAsync(3_000, upstream);
        var chat = world.Chat("m");

        var statuses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            try
            {
                await chat.CompleteChatAsync([new UserChatMessage($"call {i:00}")], new ChatCompletionOptions { MaxOutputTokenCount = 60 });
                return 200;
            }
            catch (ClientResultException e)
            {
                return e.Status;
            }
        }));

        var ok = statuses.Count(s => s == 200);
        ok.ShouldBeGreaterThan(0);
        statuses.Where(s => s != 200).ShouldAllBe(s => s == 422);
        var used = await world.TokensUsedAsync();
        used.ShouldBeLessThanOrEqualTo(3_000);
        used.ShouldBe(ok * 100L);
        (await world.CallsAsync()).Count.ShouldBe(ok);
    }
}
