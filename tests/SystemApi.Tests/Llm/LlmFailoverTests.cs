using System.ClientModel;
using System.Diagnostics;
using System.Text;
using CyAgents.Persistence.Records;
using OpenAI.Chat;

namespace CyAgents.SystemApi.Tests.Llm;

/// <summary>
/// Retries, failover and timeouts against fake upstreams on loopback that report usage, answer 429 with Retry-After,
/// fail and hang. In every case the execution is charged exactly what the answering provider reported.
/// </summary>
public sealed class LlmFailoverTests
{
    private static Dictionary<string, string?> Two(FakeUpstream first, FakeUpstream second, int timeoutSeconds = 5)
    {
        var settings = first.Provider(0, "m", priority: 1, timeoutSeconds: timeoutSeconds);
        foreach (var (k, v) in second.Provider(1, "m", priority: 2)) settings[k] = v;
        settings["Llm:RetryDelayMilliseconds"] = "10";
        return settings;
    }

    [Fact]
    public async Task A_429_with_retry_after_is_waited_for_and_retried_on_the_same_provider()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.TooMany(1), new UpstreamStep.Answer("after waiting", 21, 4));
        await using var world = await LlmWorld.StartAsync(10_000, upstream.Provider(0, "m"));
        var clock = Stopwatch.StartNew();

        ChatCompletion answer = await world.Chat("m").CompleteChatAsync([new UserChatMessage("hi")]);

        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950)); // Retry-After: 1 was honoured
        answer.Content[0].Text.ShouldBe("after waiting");
        upstream.Count.ShouldBe(2);
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        (call.Attempts, call.Provider, call.ChargedTokens, call.PromptTokens, call.CompletionTokens).ShouldBe((2, "fake", 25L, 21L, 4L));
        (await world.TokensUsedAsync()).ShouldBe(25);
    }

    [Fact]
    public async Task A_retry_after_longer_than_the_gateway_waits_fails_over_at_once()
    {
        await using var first = new FakeUpstream("first").Then(new UpstreamStep.TooMany(120));
        await using var second = new FakeUpstream("second").Then(new UpstreamStep.Answer("from second", 30, 5));
        await using var world = await LlmWorld.StartAsync(10_000, Two(first, second));
        var clock = Stopwatch.StartNew();

        ChatCompletion answer = await world.Chat("m").CompleteChatAsync([new UserChatMessage("hi")]);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        answer.Content[0].Text.ShouldBe("from second");
        (first.Count, second.Count).ShouldBe((1, 1));
        (await world.TokensUsedAsync()).ShouldBe(35);
    }

    [Fact]
    public async Task Server_errors_are_retried_then_fail_over_to_the_next_provider_by_priority()
    {
        await using var first = new FakeUpstream("first").Then(new UpstreamStep.Fail(503));
        await using var second = new FakeUpstream("second").Then(new UpstreamStep.Answer("from second", 44, 6));
        await using var world = await LlmWorld.StartAsync(10_000, Two(first, second));

        ChatCompletion answer = await world.Chat("m").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 12 });

        answer.Content[0].Text.ShouldBe("from second");
        (first.Count, second.Count).ShouldBe((2, 1));
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        (call.Provider, call.Attempts, call.Outcome).ShouldBe(("second", 3, LlmCallOutcome.Succeeded));
        // Reported 50 while the caller's limit was 12: the reported usage is charged, never less (the old proxy charged 12).
        (call.ChargedTokens, await world.TokensUsedAsync()).ShouldBe((50L, 50L));
    }

    [Fact]
    public async Task A_provider_that_does_not_answer_in_time_is_timed_out_and_the_next_one_answers()
    {
        await using var first = new FakeUpstream("first").Then(new UpstreamStep.Hang(TimeSpan.FromSeconds(30)));
        await using var second = new FakeUpstream("second").Then(new UpstreamStep.Answer("in time", 8, 3));
        var settings = Two(first, second, timeoutSeconds: 1);
        settings["Llm:MaxAttempts"] = "1";
        await using var world = await LlmWorld.StartAsync(10_000, settings);
        var clock = Stopwatch.StartNew();

        ChatCompletion answer = await world.Chat("m").CompleteChatAsync([new UserChatMessage("hi")]);

        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        answer.Content[0].Text.ShouldBe("in time");
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        (call.Provider, call.Attempts, call.ChargedTokens).ShouldBe(("second", 2, 11L));
    }

    [Fact]
    public async Task A_provider_that_keeps_failing_opens_its_circuit_and_is_skipped_until_it_closes()
    {
        await using var first = new FakeUpstream("first").Then(new UpstreamStep.Fail(500));
        await using var second = new FakeUpstream("second").Then(new UpstreamStep.Answer("ok", 5, 1));
        var settings = Two(first, second);
        settings["Llm:MaxAttempts"] = "1";
        settings["Llm:BreakerMinimumThroughput"] = "3";
        settings["Llm:BreakerBreakSeconds"] = "60";
        await using var world = await LlmWorld.StartAsync(10_000, settings);

        for (var i = 0; i < 6; i++) await world.Chat("m").CompleteChatAsync([new UserChatMessage($"call {i}")]);

        first.Count.ShouldBe(3); // three failures opened the circuit; the next three went straight to the second provider
        second.Count.ShouldBe(6);
        (await world.TokensUsedAsync()).ShouldBe(36);
    }

    [Fact]
    public async Task A_streamed_call_through_an_upstream_is_charged_its_usage_chunk_and_the_caller_gets_it_when_asked()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.Answer("one two three four", 17, 4));
        await using var world = await LlmWorld.StartAsync(10_000, upstream.Provider(0, "m"));
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;

        await foreach (var update in world.Chat("m").CompleteChatStreamingAsync([new UserChatMessage("count")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
        }

        text.ToString().ShouldBe("one two three four ");
        (usage!.InputTokenCount, usage.OutputTokenCount).ShouldBe((17, 4));
        upstream.Requests.ShouldHaveSingleItem().Body["stream_options"]!["include_usage"]!.GetValue<bool>().ShouldBeTrue();
        (await world.TokensUsedAsync()).ShouldBe(21);
    }

    [Fact]
    public async Task A_stream_that_breaks_is_charged_its_reservation_never_zero()
    {
        await using var upstream = new FakeUpstream().Then(new UpstreamStep.BreakStream(3));
        await using var world = await LlmWorld.StartAsync(10_000, upstream.Provider(0, "m"));
        var text = new StringBuilder();

        var broke = await Should.ThrowAsync<Exception>(async () =>
        {
            await foreach (var update in world.Chat("m").CompleteChatStreamingAsync([new UserChatMessage("go")], new ChatCompletionOptions { MaxOutputTokenCount = 100 }))
                foreach (var part in update.ContentUpdate) text.Append(part.Text);
        });

        text.ToString().ShouldStartWith("part0 part1 part2 ", customMessage: broke.ToString());
        var call = (await world.CallsAsync()).ShouldHaveSingleItem();
        call.Outcome.ShouldBe(LlmCallOutcome.StreamBroken);
        call.ChargedTokens.ShouldBe(call.ReservedTokens);
        call.ChargedTokens.ShouldBeGreaterThan(100);
        (await world.TokensUsedAsync()).ShouldBe(call.ReservedTokens);
        broke.ShouldNotBeNull();
    }

    [Fact]
    public async Task A_request_the_provider_refuses_is_not_retried_elsewhere_and_comes_back_as_the_sdks_exception()
    {
        await using var first = new FakeUpstream("first").Then(new UpstreamStep.Fail(400));
        await using var second = new FakeUpstream("second");
        await using var world = await LlmWorld.StartAsync(10_000, Two(first, second));

        var refused = await Should.ThrowAsync<ClientResultException>(() => world.Chat("m").CompleteChatAsync([new UserChatMessage("hi")]));

        refused.Status.ShouldBe(400);
        refused.Message.ShouldContain("first refused the request");
        (first.Count, second.Count).ShouldBe((1, 0));
        (await world.CallsAsync()).ShouldHaveSingleItem().Outcome.ShouldBe(LlmCallOutcome.Rejected);
        (await world.TokensUsedAsync()).ShouldBe(0);
    }
}
