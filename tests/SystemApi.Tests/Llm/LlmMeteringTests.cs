using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CyAgents.Contracts;
using OpenAI.Chat;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>Reservations hold the won tokens against concurrent calls; per-agent limits; multipliers.</summary>
public sealed class LlmMeteringTests
{
    private static async Task<int[]> FiftyAsync(ChatClient chat, int maxTokens) =>
        await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            try
            {
                await chat.CompleteChatAsync([new UserChatMessage($"call {i:00}")], new ChatCompletionOptions { MaxOutputTokenCount = maxTokens });
                return 200;
            }
            catch (ClientResultException e)
            {
                return e.Status;
            }
        }));

    [Fact]
    public async Task Fifty_concurrent_calls_hold_their_bounds_so_together_they_never_exceed_the_won_tokens()
    {
        // Each call is slow and cheap (10 tokens): without reservations all 50 would pass (500 < 2000). With them, the
        // calls in flight together hold at most 2000, so the ones that arrive while the bundle is held are refused.
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("x", 5, 5, DelayMs: 300));
        await using var world = await LlmWorld.StartAsync(2_000, upstream.Provider(0, "m"));

        var statuses = await FiftyAsync(world.Chat("m"), 100);

        var calls = await world.CallsAsync();
        statuses.Where(s => s != 200).ShouldAllBe(s => s == 422);
        statuses.Count(s => s == 422).ShouldBeGreaterThan(0);
        statuses.Count(s => s == 200).ShouldBe(calls.Count);
        var used = await world.TokensUsedAsync();
        used.ShouldBe(calls.Count * 10L);
        used.ShouldBe(calls.Sum(c => c.ChargedTokens));
        calls.ShouldAllBe(c => c.ReservedTokens > 100);
    }

    [Fact]
    public async Task Fifty_concurrent_calls_that_use_most_of_their_bound_never_overshoot()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("x", 60, 40));
        await using var world = await LlmWorld.StartAsync(3_000, upstream.Provider(0, "m"));

        var statuses = await FiftyAsync(world.Chat("m"), 60);

        var used = await world.TokensUsedAsync();
        used.ShouldBeLessThanOrEqualTo(3_000);
        used.ShouldBe(statuses.Count(s => s == 200) * 100L);
        statuses.Count(s => s == 200).ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Requests_per_minute_are_limited_per_agent_with_retry_after()
    {
        await using var world = await LlmWorld.StartAsync(100_000, new Dictionary<string, string?> { ["Llm:RequestsPerMinute"] = "3" });
        var chat = world.Chat("echo");
        for (var i = 0; i < 3; i++) await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        var used = await world.TokensUsedAsync();

        var limited = await Should.ThrowAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        limited.Status.ShouldBe(429);
        limited.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retry).ShouldBeTrue();
        int.Parse(retry!).ShouldBeInRange(1, 60);
        JsonNode.Parse(limited.GetRawResponse()!.Content.ToString())!["error"]!["code"]!.GetValue<string>().ShouldBe(ErrorCodes.RateLimited);
        (await world.TokensUsedAsync()).ShouldBe(used);

        // Another agent has its own minute.
        var bob = await world.Api.AgentTokenAsync("bob", 0, executionId: "exe-bob");
        await using (var db = await world.Api.DbAsync())
        {
            db.Add(new Persistence.Records.ExecutionRecord { Id = "exe-bob", AgentId = "bob", Cycle = 1, Granted = Economy.Resources.ResourceBundle.Create(tokens: 1000) });
            await db.SaveChangesAsync();
        }
        await world.Chat("echo", key: bob).CompleteChatAsync([new UserChatMessage("hi")]);
    }

    [Fact]
    public async Task Tokens_per_minute_count_reservations_so_a_burst_cannot_pass_and_a_call_above_the_limit_is_refused()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("x", 2, 1, DelayMs: 500));
        var settings = upstream.Provider(0, "m");
        settings["Llm:TokensPerMinute"] = "1000";
        await using var world = await LlmWorld.StartAsync(100_000, settings);
        var http = world.Api.ClientWith(world.Token);
        object Body(int max) => new { model = "m", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = max };

        var tooBig = await http.PostAsJsonAsync(ApiRoutes.ChatCompletions, Body(1000));
        tooBig.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        (await tooBig.Content.ReadAsStringAsync()).ShouldContain("more than the 1000 per minute");

        // Two calls of ~560 each at once: the second finds the first's bound still counted.
        var both = await Task.WhenAll(http.PostAsJsonAsync(ApiRoutes.ChatCompletions, Body(500)), http.PostAsJsonAsync(ApiRoutes.ChatCompletions, Body(500)));
        both.Select(r => r.StatusCode).Order().ShouldBe([HttpStatusCode.OK, HttpStatusCode.TooManyRequests]);
        both.Single(r => r.StatusCode == HttpStatusCode.TooManyRequests).Headers.RetryAfter.ShouldNotBeNull();

        // Once settled, the call counts what it was charged (3), so the next one fits.
        (await http.PostAsJsonAsync(ApiRoutes.ChatCompletions, Body(500))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await world.TokensUsedAsync()).ShouldBe(6);
    }

    [Fact]
    public async Task A_model_multiplier_charges_that_many_bundle_tokens_per_model_token_rounded_up()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("dear", 10, 5));
        var settings = upstream.Provider(0, "big-model");
        settings["Llm:Models:0:Name"] = "big-model";
        settings["Llm:Models:0:Multiplier"] = "2.5";
        await using var world = await LlmWorld.StartAsync(10_000, settings);

        var answer = await world.Api.ClientWith(world.Token).PostAsJsonAsync(ApiRoutes.ChatCompletions,
            new { model = "big-model", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 50 });

        answer.StatusCode.ShouldBe(HttpStatusCode.OK);
        answer.Headers.GetValues("x-cyagents-tokens-charged").Single().ShouldBe("38"); // ceil(15 × 2.5)
        (await world.TokensUsedAsync()).ShouldBe(38);
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        call.ReservedTokens.ShouldBeGreaterThan((50 + 70) * 2); // (prompt bound + limit) × 2.5
    }

    [Fact]
    public async Task Without_a_limit_the_completion_limit_forwarded_is_what_is_left_so_the_call_cannot_overspend()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("x", 1, 1));
        await using var world = await LlmWorld.StartAsync(500, upstream.Provider(0, "m"));

        await world.Chat("m").CompleteChatAsync([new UserChatMessage("hi")]);

        var sent = upstream.Requests.ShouldHaveSingleItem().Body;
        var limit = sent["max_tokens"]!.GetValue<int>();
        limit.ShouldBeInRange(300, 499);
        (await world.CallsAsync()).ShouldHaveSingleItem().ReservedTokens.ShouldBeLessThanOrEqualTo(500);
    }
}
