using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// Attention on PostgreSQL with two API hosts (ADR 0135): the execution's row lock makes asks through both hosts queue, so
/// together they never spend more than the share. Needs CYAGENTS_TEST_POSTGRES (scripts/test sets it); fails without it.
/// </summary>
public sealed class PromptAttentionPostgresTests() : ThrowawayPostgresDatabase("cyagents_attention_")
{
    // One prompt costs 100 whatever its length, so a share of 1,000 pays for exactly ten.
    private static readonly Dictionary<string, string?> HundredPerPrompt = new()
    {
        ["SystemApi:AttentionPerPrompt"] = "100",
        ["SystemApi:AttentionPerThousandCharacters"] = "0",
    };

    [Fact]
    public async Task Fifty_concurrent_asks_spread_over_two_hosts_spend_exactly_the_share()
    {
        await using var first = Host(HundredPerPrompt);
        await using var second = Host(HundredPerPrompt);
        var token = await first.AskerTokenAsync("alice", attention: 1_000);
        second.Started();
        using var a = first.ClientWith(token);
        using var b = second.ClientWith(token);

        var responses = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => (i % 2 == 0 ? a : b).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest($"question {i}?"))));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(10);
        responses.Count(r => (int)r.StatusCode == 422).ShouldBe(40);
        await using var db = await second.DbAsync();
        (await db.Set<PromptRecord>().SumAsync(p => p.Attention)).ShouldBe(1_000);
    }
}
