using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

/// <summary>Attention binds (ADR 0135): prompts are paid from the execution's won share, the inbox orders by it, expired prompts stay unanswerable.</summary>
public class PromptAttentionTests
{
    // 100 bp per prompt and nothing per character, unless a test says otherwise: costs are easy to count.
    private static ApiFactory Api(long perThousandCharacters = 0) => new(new Dictionary<string, string?>
    {
        ["SystemApi:AttentionPerPrompt"] = "100",
        ["SystemApi:AttentionPerThousandCharacters"] = perThousandCharacters.ToString(),
    });

    private static async Task<int> EventCountAsync(ApiFactory api, string type)
    {
        await using var db = await api.DbAsync();
        return await db.Set<EventRecord>().CountAsync(e => e.Type == type);
    }

    [Fact]
    public async Task A_prompt_beyond_the_won_share_is_refused_with_attention_exhausted_and_changes_nothing()
    {
        await using var api = Api();
        var token = await api.AskerTokenAsync("alice", 100, attention: 250);
        var client = api.TypedClient(token);
        (await client.AskAsync(new AskPromptRequest("first?"))).Attention.ShouldBe(100);
        (await client.AskAsync(new AskPromptRequest("second?"))).Attention.ShouldBe(100);
        var before = await api.SnapshotAsync();
        var events = await EventCountAsync(api, EventTypes.PromptPosted);

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest("third?"));

        var problem = await response.ShouldBeProblemAsync((HttpStatusCode)422, ErrorCodes.AttentionExhausted);
        problem.GetProperty("detail").GetString()!.ShouldContain("50 bp left");
        (await api.SnapshotAsync()).ShouldBe(before);
        (await EventCountAsync(api, EventTypes.PromptPosted)).ShouldBe(events);
        events.ShouldBe(2);
    }

    [Fact]
    public async Task The_whole_share_may_be_spent_exactly_and_not_one_basis_point_more()
    {
        await using var api = Api();
        var token = await api.AskerTokenAsync("alice", attention: 200);
        var client = api.TypedClient(token);

        await client.AskAsync(new AskPromptRequest("one"));
        await client.AskAsync(new AskPromptRequest("two"));

        await (await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest("three")))
            .ShouldBeProblemAsync((HttpStatusCode)422, ErrorCodes.AttentionExhausted);
    }

    [Fact]
    public async Task An_execution_that_won_no_attention_may_not_ask_and_a_replayed_ask_costs_once()
    {
        await using var api = Api();
        var none = await api.AskerTokenAsync("bob", attention: 0);
        await (await api.ClientWith(none).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest("free?")))
            .ShouldBeProblemAsync((HttpStatusCode)422, ErrorCodes.AttentionExhausted);

        var token = await api.AskerTokenAsync("alice", attention: 100);
        var first = await api.TypedClient(token).AskAsync(new AskPromptRequest("once"), idempotencyKey: "q-1");
        var replay = await api.TypedClient(token).AskAsync(new AskPromptRequest("once"), idempotencyKey: "q-1");
        replay.ShouldBe(first);
    }

    [Fact]
    public async Task A_longer_question_costs_more_per_started_thousand_characters()
    {
        await using var api = Api(perThousandCharacters: 50);
        var token = await api.AskerTokenAsync("alice", attention: 10_000);
        var client = api.TypedClient(token);

        (await client.AskAsync(new AskPromptRequest("short"))).Attention.ShouldBe(150);
        (await client.AskAsync(new AskPromptRequest(new string('x', 1000)))).Attention.ShouldBe(150);
        (await client.AskAsync(new AskPromptRequest(new string('x', 1001)))).Attention.ShouldBe(200);
        (await client.AskAsync(new AskPromptRequest(new string('x', 3500)))).Attention.ShouldBe(300);
    }

    [Fact]
    public async Task Fifty_concurrent_asks_never_spend_more_than_the_share()
    {
        await using var api = Api();
        var token = await api.AskerTokenAsync("alice", attention: 1_000);
        using var http = api.ClientWith(token);

        var responses = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => http.PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest($"question {i}?"))));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(10);
        responses.Count(r => (int)r.StatusCode == 422).ShouldBe(40);
        await using var db = await api.DbAsync();
        (await db.Set<PromptRecord>().SumAsync(p => p.Attention)).ShouldBe(1_000);
        (await db.Set<EventRecord>().CountAsync(e => e.Type == EventTypes.PromptPosted && e.AgentId == "alice")).ShouldBe(10);
    }

    [Fact]
    public async Task Each_execution_pays_from_its_own_share()
    {
        await using var api = Api();
        var first = await api.AskerTokenAsync("alice", attention: 100, executionId: "exe-1", cycle: 1);
        await api.TypedClient(first).AskAsync(new AskPromptRequest("in cycle 1"));
        await api.SeedExecutionAsync("alice", "exe-2", 2, attention: 100);
        var second = await api.IssueAsync("alice", "exe-2", 2);

        (await api.TypedClient(second).AskAsync(new AskPromptRequest("in cycle 2"))).ExecutionId.ShouldBe("exe-2");
    }

    [Fact]
    public async Task The_inbox_lists_pending_prompts_by_attention_paid_then_by_age_and_shows_it()
    {
        await using var api = Api(perThousandCharacters: 100);
        var alice = api.TypedClient(await api.AskerTokenAsync("alice", attention: 10_000));
        var bob = api.TypedClient(await api.AskerTokenAsync("bob", attention: 10_000));
        var cheapOld = await alice.AskAsync(new AskPromptRequest("cheap and old"));                // 200
        var dear = await bob.AskAsync(new AskPromptRequest(new string('d', 2500)));                // 400
        var cheapNew = await bob.AskAsync(new AskPromptRequest("cheap and new"));                  // 200
        var middle = await alice.AskAsync(new AskPromptRequest(new string('m', 1500)));            // 300
        var op = api.TypedClient(ApiFactory.OperatorSecret);

        var inbox = (await op.GetPendingPromptsAsync()).Items;

        inbox.Select(p => p.Id).ShouldBe([dear.Id, middle.Id, cheapOld.Id, cheapNew.Id]);
        inbox.Select(p => p.Attention).ShouldBe([400L, 300L, 200L, 200L]);
        await op.AnswerPromptAsync(dear.Id, new AnswerPromptRequest("yes", 0));
        (await op.GetPendingPromptsAsync()).Items.Select(p => p.Id).ShouldBe([middle.Id, cheapOld.Id, cheapNew.Id]);
        var answered = await api.ClientWith(ApiFactory.OperatorSecret).GetFromJsonAsync<PromptList>(ApiRoutes.OperatorPrompts + "?status=answered");
        answered!.Items.Single().Attention.ShouldBe(400);
    }

    [Fact]
    public async Task Answering_an_expired_prompt_is_a_conflict_and_changes_nothing_and_answers_are_events()
    {
        await using var api = Api();
        var token = await api.AskerTokenAsync("alice", attention: 300);
        var client = api.TypedClient(token);
        var expired = await client.AskAsync(new AskPromptRequest("too late?"));
        var live = await client.AskAsync(new AskPromptRequest("in time?"));
        await using (var db = await api.DbAsync())
        {
            // What PromptExpiry does before a clearing (its own tests run it in the orchestrator).
            var p = await db.Set<PromptRecord>().SingleAsync(x => x.Id == expired.Id);
            p.Status = PromptStatus.Expired;
            p.ExpiredCycle = 12;
            await db.SaveChangesAsync();
        }
        var op = api.ClientWith(ApiFactory.OperatorSecret);
        var before = await api.SnapshotAsync();

        var response = await op.PostAsJsonAsync(ApiRoutes.AnswerPrompt(expired.Id), new AnswerPromptRequest("Here you go.", 50));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, ErrorCodes.Conflict);
        problem.GetProperty("detail").GetString()!.ShouldContain("expired");
        (await api.SnapshotAsync()).ShouldBe(before);
        (await api.AvailableAsync("alice")).ShouldBe(0);
        (await client.GetPromptAsync(expired.Id)).Status.ShouldBe("Expired");
        (await op.GetFromJsonAsync<PromptList>(ApiRoutes.OperatorPrompts + "?status=expired"))!.Items.Single().Id.ShouldBe(expired.Id);
        // The spent attention stays spent: the share (300) minus two prompts leaves room for one more only.
        await client.AskAsync(new AskPromptRequest("last one"));
        await (await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest("one more")))
            .ShouldBeProblemAsync((HttpStatusCode)422, ErrorCodes.AttentionExhausted);

        await api.TypedClient(ApiFactory.OperatorSecret).AnswerPromptAsync(live.Id, new AnswerPromptRequest("Yes.", 5));
        await using var read = await api.DbAsync();
        var answeredEvent = await read.Set<EventRecord>().SingleAsync(e => e.Type == EventTypes.PromptAnswered);
        answeredEvent.AgentId.ShouldBe("alice");
        answeredEvent.Data.ShouldContain(live.Id);
        answeredEvent.Data.ShouldContain("\"reward\":5");
    }

    [Fact]
    public async Task A_retired_agent_is_refused_with_agent_retired_before_its_attention_is_counted()
    {
        await using var api = Api();
        var token = await api.AskerTokenAsync("alice", attention: 10_000);
        await using (var db = await api.DbAsync())
        {
            (await db.Set<AgentRecord>().SingleAsync(a => a.Id == "alice")).Status = AgentStatus.Retired;
            await db.SaveChangesAsync();
        }
        var before = await api.SnapshotAsync();

        await (await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest("still here?")))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.AgentRetired);
        (await api.SnapshotAsync()).ShouldBe(before);
    }
}

/// <summary>How a retired agent (ADR 0136) looks to others: still in its family's lineage, marked retired.</summary>
public class RetiredAgentLineageTests
{
    [Fact]
    public async Task A_retired_child_shows_as_retired_in_its_parents_lineage()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 100);
        await api.SeedAgentAsync("bob", 0, parentId: "alice", generation: 1);
        await using (var db = await api.DbAsync())
        {
            (await db.Set<AgentRecord>().SingleAsync(a => a.Id == "bob")).Status = AgentStatus.Retired;
            await db.SaveChangesAsync();
        }

        var tree = await api.TypedClient(token).GetLineageAsync("alice");

        tree.Agent.Status.ShouldBe("Active");
        tree.Children.ShouldHaveSingleItem().Agent.ShouldSatisfyAllConditions(
            bob => bob.Id.ShouldBe("bob"), bob => bob.Status.ShouldBe("Retired"));
        (await api.TypedClient(token).GetLineageAsync("bob")).Children.Single().Agent.Status.ShouldBe("Retired");
    }
}
