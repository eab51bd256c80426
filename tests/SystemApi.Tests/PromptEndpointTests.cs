using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

public class PromptEndpointTests
{
    [Fact]
    public async Task An_agent_asks_the_operator_answers_with_a_reward_and_the_agent_reads_the_answer()
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 100, executionId: "exe-7", cycle: 3);
        var agent = api.TypedClient(token);
        var op = api.TypedClient(ApiFactory.OperatorSecret);

        var asked = await agent.AskAsync(new AskPromptRequest("Which resource is cheapest?"));
        asked.Status.ShouldBe("Pending");
        asked.ExecutionId.ShouldBe("exe-7");
        asked.Cycle.ShouldBe(3);
        (await op.GetPendingPromptsAsync()).Items.Select(p => p.Id).ShouldBe([asked.Id]);

        var answered = await op.AnswerPromptAsync(asked.Id, new AnswerPromptRequest("Tokens.", 25));

        answered.Status.ShouldBe("Answered");
        var polled = await agent.GetPromptAsync(asked.Id);
        polled.Answer.ShouldBe("Tokens.");
        polled.Reward.ShouldBe(25);
        (await agent.GetBalanceAsync()).Available.ShouldBe(125);
        (await op.GetPendingPromptsAsync()).Items.ShouldBeEmpty();
        (await agent.GetTransactionsAsync()).Items[0].Kind.ShouldBe(nameof(TransferKind.HumanReward));
        (await (await api.LedgerAsync()).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_prompt_is_answered_and_rewarded_only_once()
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 0);
        var asked = await api.TypedClient(token).AskAsync(new AskPromptRequest("Help?"));
        await api.TypedClient(ApiFactory.OperatorSecret).AnswerPromptAsync(asked.Id, new AnswerPromptRequest("Sure.", 10));
        var before = await api.SnapshotAsync();

        var again = await api.ClientWith(ApiFactory.OperatorSecret)
            .PostAsJsonAsync(ApiRoutes.AnswerPrompt(asked.Id), new AnswerPromptRequest("Again!", 10));

        await again.ShouldBeProblemAsync(HttpStatusCode.Conflict, ErrorCodes.Conflict);
        (await api.SnapshotAsync()).ShouldBe(before);
        (await api.AvailableAsync("alice")).ShouldBe(10);
    }

    [Fact]
    public async Task A_replayed_answer_returns_the_first_response_and_pays_once()
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 0);
        var asked = await api.TypedClient(token).AskAsync(new AskPromptRequest("Help?"));
        var op = api.TypedClient(ApiFactory.OperatorSecret);

        var first = await op.AnswerPromptAsync(asked.Id, new AnswerPromptRequest("Sure.", 10), idempotencyKey: "answer-1");
        var replay = await op.AnswerPromptAsync(asked.Id, new AnswerPromptRequest("Sure.", 10), idempotencyKey: "answer-1");

        replay.ShouldBe(first);
        (await api.AvailableAsync("alice")).ShouldBe(10);
    }

    [Fact]
    public async Task An_agent_cannot_read_another_agents_prompts()
    {
        await using var api = new ApiFactory();
        var alice = await api.AskerTokenAsync("alice", 0);
        var mallory = await api.AskerTokenAsync("mallory", 0);
        var asked = await api.TypedClient(alice).AskAsync(new AskPromptRequest("secret question"));

        await (await api.ClientWith(mallory).GetAsync(ApiRoutes.Prompt(asked.Id))).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        (await api.ClientWith(mallory).GetFromJsonAsync<PromptList>(ApiRoutes.Prompts))!.Items.ShouldBeEmpty();
        (await api.ClientWith(alice).GetFromJsonAsync<PromptList>(ApiRoutes.Prompts))!.Items.Single().Id.ShouldBe(asked.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task An_empty_question_is_refused_and_changes_nothing(string? question)
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 0);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest(question));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("question").ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_question_over_the_size_limit_is_refused_and_changes_nothing()
    {
        await using var api = new ApiFactory(new Dictionary<string, string?> { ["SystemApi:MaxQuestionLength"] = "100" });
        var token = await api.AskerTokenAsync("alice", 0);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest(new string('?', 101)));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("question").ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("", 5, "answer")]
    [InlineData("ok", -1, "reward")]
    [InlineData("ok", 2_000_000, "reward")]
    public async Task An_invalid_answer_is_refused_field_by_field_and_changes_nothing(string answer, long reward, string field)
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 0);
        var asked = await api.TypedClient(token).AskAsync(new AskPromptRequest("?"));
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(ApiFactory.OperatorSecret)
            .PostAsJsonAsync(ApiRoutes.AnswerPrompt(asked.Id), new AnswerPromptRequest(answer, reward));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors(field).ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Answering_an_unknown_prompt_is_not_found_and_changes_nothing()
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("alice", 0);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(ApiFactory.OperatorSecret)
            .PostAsJsonAsync(ApiRoutes.AnswerPrompt("prm-missing"), new AnswerPromptRequest("hello", 5));

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_replayed_question_creates_one_prompt()
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 0);
        var client = api.TypedClient(token);

        var first = await client.AskAsync(new AskPromptRequest("once?"), idempotencyKey: "q-1");
        var replay = await client.AskAsync(new AskPromptRequest("once?"), idempotencyKey: "q-1");

        replay.ShouldBe(first);
        (await api.ClientWith(token).GetFromJsonAsync<PromptList>(ApiRoutes.Prompts))!.Items.Count.ShouldBe(1);
    }
}
