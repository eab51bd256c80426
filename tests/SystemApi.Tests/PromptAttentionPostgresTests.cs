using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// Attention on PostgreSQL with two API hosts (ADR 0135): the execution's row lock makes asks through both hosts queue, so
/// together they never spend more than the share. Needs CYAGENTS_TEST_POSTGRES (scripts/test sets it); fails without it.
/// </summary>
public sealed class PromptAttentionPostgresTests() : ThrowawayPostgresDatabase("cyagents_attention_")
{
    private ApiFactory Host() => new(new Dictionary<string, string?>
    {
        ["Database:Provider"] = "postgres",
        ["Database:ConnectionString"] = new NpgsqlConnectionStringBuilder(Admin) { Database = Database }.ConnectionString,
        ["SystemApi:AttentionPerPrompt"] = "100",
        ["SystemApi:AttentionPerThousandCharacters"] = "0",
    });

    [Fact]
    public async Task Fifty_concurrent_asks_spread_over_two_hosts_spend_exactly_the_share()
    {
        await using var first = Host();
        await using var second = Host();
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
