using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// Two API hosts on one PostgreSQL database (the "outgrown SQLite" set-up): env CYAGENTS_TEST_POSTGRES
/// (`export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`; scripts/test does this). Fails without it.
/// </summary>
public sealed class PostgresHostsTests() : ThrowawayPostgresDatabase("cyagents_api_")
{
    [Fact]
    public async Task Fifty_concurrent_bids_spread_over_two_hosts_accept_exactly_what_the_balance_covers()
    {
        await using var first = Host();
        await using var second = Host();
        var token = await first.AgentTokenAsync("alice", 1000);
        second.Started();
        using var a = first.ClientWith(token);
        using var b = second.ClientWith(token);
        var bid = new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 100);

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => (i % 2 == 0 ? a : b).PostAsJsonAsync(ApiRoutes.Bids, bid)));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(10);
        responses.Count(r => r.StatusCode == HttpStatusCode.PaymentRequired).ShouldBe(40);
        (await second.TypedClient(token).GetBalanceAsync()).ShouldBe(new BalanceResponse("alice", 1000, 1000, 0));
        await using var db = await second.DbAsync();
        (await db.Set<BidRecord>().CountAsync()).ShouldBe(10);
        (await (await first.LedgerAsync()).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_replay_sent_to_the_other_host_returns_the_first_response()
    {
        await using var first = Host();
        await using var second = Host();
        var token = await first.AgentTokenAsync("alice", 1000);
        var bid = new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 100);

        var placed = await first.TypedClient(token).PlaceBidAsync(bid, idempotencyKey: "k-1");
        var replay = await second.TypedClient(token).PlaceBidAsync(bid, idempotencyKey: "k-1");

        replay.ShouldBe(placed);
        (await second.TypedClient(token).GetBalanceAsync()).Reserved.ShouldBe(100);
    }
}
