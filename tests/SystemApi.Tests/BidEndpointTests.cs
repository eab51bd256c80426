using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Bids;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

public class BidEndpointTests
{
    private static readonly ResourceBundleDto Small = new(500, 256, 1000, 0);

    [Fact]
    public async Task Placing_a_bid_escrows_its_amount_for_the_next_cycle()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        using var http = api.ClientWith(token);

        var response = await http.PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(Small, 120));

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var bid = (await response.Content.ReadFromJsonAsync<BidResponse>())!;
        response.Headers.Location!.ToString().ShouldBe(ApiRoutes.Bid(bid.Id));
        bid.AgentId.ShouldBe("alice");
        bid.Cycle.ShouldBe(1);
        bid.Status.ShouldBe("Open");
        bid.Bundle.ShouldBe(Small);
        bid.EscrowTransferId.ShouldBe($"bid:{bid.Id}:escrow");
        var balance = await api.TypedClient(token).GetBalanceAsync();
        balance.ShouldBe(new BalanceResponse("alice", 1000, 120, 880));
        var escrow = await (await api.LedgerAsync()).FindTransferAsync(bid.EscrowTransferId);
        escrow!.State.ShouldBe(TransferState.Pending);
        escrow.Kind.ShouldBe(TransferKind.BidEscrow);
    }

    [Fact]
    public async Task A_bid_is_for_the_open_cycle_while_one_is_open_and_for_the_next_one_otherwise()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var client = api.TypedClient(token);
        await using (var db = await api.DbAsync())
        {
            db.Add(new CycleRecord { Number = 4, Status = CycleStatus.Open, StartedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }
        (await client.PlaceBidAsync(new PlaceBidRequest(Small, 10))).Cycle.ShouldBe(4);

        await using (var db = await api.DbAsync())
        {
            (await db.Set<CycleRecord>().FindAsync(4L))!.Status = CycleStatus.Clearing;
            await db.SaveChangesAsync();
        }
        (await client.PlaceBidAsync(new PlaceBidRequest(Small, 10))).Cycle.ShouldBe(5);
    }

    [Fact]
    public async Task Own_bids_are_listed_newest_first_and_readable_one_by_one()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var other = await api.AgentTokenAsync("bob", 1000);
        var client = api.TypedClient(token);
        var first = await client.PlaceBidAsync(new PlaceBidRequest(Small, 10));
        var second = await client.PlaceBidAsync(new PlaceBidRequest(Small, 20));
        await api.TypedClient(other).PlaceBidAsync(new PlaceBidRequest(Small, 30));

        var list = await client.GetBidsAsync();

        list.Items.Select(b => b.Id).ShouldBe([second.Id, first.Id]);
        using var http = api.ClientWith(token);
        (await http.GetFromJsonAsync<BidResponse>(ApiRoutes.Bid(first.Id)))!.Amount.ShouldBe(10);
        (await http.GetAsync(ApiRoutes.Bids + "?status=bogus")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Cancelling_an_open_bid_voids_its_escrow_and_frees_the_credits()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var client = api.TypedClient(token);
        var bid = await client.PlaceBidAsync(new PlaceBidRequest(Small, 300));

        var cancelled = await client.CancelBidAsync(bid.Id);

        cancelled.Status.ShouldBe("Cancelled");
        (await client.GetBalanceAsync()).ShouldBe(new BalanceResponse("alice", 1000, 0, 1000));
        (await (await api.LedgerAsync()).FindTransferAsync(bid.EscrowTransferId))!.State.ShouldBe(TransferState.PendingVoided);
    }

    [Fact]
    public async Task Cancelling_twice_is_a_conflict_and_changes_nothing()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var client = api.TypedClient(token);
        var bid = await client.CancelBidAsync((await client.PlaceBidAsync(new PlaceBidRequest(Small, 300))).Id);
        var before = await api.SnapshotAsync();
        using var http = api.ClientWith(token);

        var response = await http.PostAsync(ApiRoutes.CancelBid(bid.Id), null);

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, ErrorCodes.Conflict);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_bid_that_is_no_longer_open_cannot_be_cancelled()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var bid = await api.TypedClient(token).PlaceBidAsync(new PlaceBidRequest(Small, 300));
        await using (var db = await api.DbAsync())
        {
            await new BidBook(db, new EfLedger(db)).FreezeAsync(bid.Cycle, default);
            await db.SaveChangesAsync();
        }
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsync(ApiRoutes.CancelBid(bid.Id), null);

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, ErrorCodes.Conflict);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task An_agent_cannot_cancel_or_read_another_agents_bid()
    {
        await using var api = new ApiFactory();
        var alice = await api.AgentTokenAsync("alice", 1000);
        var mallory = await api.AgentTokenAsync("mallory", 1000);
        var bid = await api.TypedClient(alice).PlaceBidAsync(new PlaceBidRequest(Small, 300));
        var before = await api.SnapshotAsync();
        using var http = api.ClientWith(mallory);

        await (await http.PostAsync(ApiRoutes.CancelBid(bid.Id), null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await (await http.GetAsync(ApiRoutes.Bid(bid.Id))).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        (await api.TypedClient(mallory).GetBidsAsync()).Items.ShouldBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("""{"amount":10}""", "bundle")]
    [InlineData("""{"bundle":{"cpuMillicores":-1,"memoryMiB":0,"tokens":0,"attentionBasisPoints":0},"amount":10}""", "bundle.cpuMillicores")]
    [InlineData("""{"bundle":{"cpuMillicores":0,"memoryMiB":0,"tokens":0,"attentionBasisPoints":0},"amount":10}""", "bundle.cpuMillicores")]
    [InlineData("""{"bundle":{"cpuMillicores":100,"memoryMiB":0,"tokens":0,"attentionBasisPoints":0},"amount":10}""", "bundle.memoryMiB")]
    [InlineData("""{"bundle":{"cpuMillicores":49,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0},"amount":10}""", "bundle.cpuMillicores")]
    [InlineData("""{"bundle":{"cpuMillicores":100,"memoryMiB":64,"tokens":0},"amount":10}""", null)]
    [InlineData("""{"bundle":{"cpuMillicores":100,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0}}""", null)]
    [InlineData("""{"bundle":{"cpuMillicores":100,"memoryMiB":0,"tokens":0,"attentionBasisPoints":0},"amount":0}""", "amount")]
    [InlineData("""{"bundle":{"cpuMillicores":100,"memoryMiB":0,"tokens":0,"attentionBasisPoints":0},"amount":-5}""", "amount")]
    [InlineData("""{"bundle":{"cpuMillicores":100,"memoryMiB":-3,"tokens":0,"attentionBasisPoints":0},"amount":-5}""", "bundle.memoryMiB")]
    public async Task An_invalid_bid_is_refused_field_by_field_and_changes_nothing(string body, string? field)
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsync(ApiRoutes.Bids, new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        // A missing field fails the strict reading of the body: the message names it instead of a field list.
        if (field is null) problem.GetProperty("detail").GetString()!.ShouldContain("missing required properties");
        else problem.FieldErrors(field).ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"bundle":{"cpuMillicores":"lots"},"amount":10}""")]
    [InlineData("")]
    public async Task An_unreadable_body_is_a_validation_problem_and_changes_nothing(string body)
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsync(ApiRoutes.Bids, new StringContent(body, Encoding.UTF8, "application/json"));

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_bid_larger_than_the_balance_is_refused_for_insufficient_funds_and_changes_nothing()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 100);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(Small, 101));

        await response.ShouldBeProblemAsync(HttpStatusCode.PaymentRequired, ErrorCodes.InsufficientFunds);
        (await api.SnapshotAsync()).ShouldBe(before);
        (await api.AvailableAsync("alice")).ShouldBe(100);
    }

    [Fact]
    public async Task A_bundle_larger_than_the_supply_is_refused_and_changes_nothing()
    {
        await using var api = new ApiFactory(new Dictionary<string, string?> { ["Market:Supply:Cpu"] = "2000" });
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(Small with { CpuMillicores = 2001 }, 10));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ErrorCodes.BundleExceedsSupply);
        problem.GetProperty("detail").GetString()!.ShouldContain("cpu");
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_body_over_64_KiB_is_refused_and_changes_nothing()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        var padding = new string(' ', 64 * 1024);
        var body = "{\"amount\":10," + padding + "\"bundle\":{\"cpuMillicores\":1}}";

        var response = await api.ClientWith(token).PostAsync(ApiRoutes.Bids, new StringContent(body, Encoding.UTF8, "application/json"));

        await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, ErrorCodes.BodyTooLarge);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_replayed_bid_returns_the_first_response_and_escrows_once()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var client = api.TypedClient(token);

        var first = await client.PlaceBidAsync(new PlaceBidRequest(Small, 100), idempotencyKey: "bid-1");
        var afterFirst = await api.SnapshotAsync();
        var replay = await client.PlaceBidAsync(new PlaceBidRequest(Small, 100), idempotencyKey: "bid-1");

        replay.ShouldBe(first);
        (await api.SnapshotAsync()).ShouldBe(afterFirst);
        (await client.GetBalanceAsync()).Reserved.ShouldBe(100);
    }

    [Fact]
    public async Task Reusing_an_idempotency_key_for_a_different_bid_is_a_conflict_and_changes_nothing()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        await api.TypedClient(token).PlaceBidAsync(new PlaceBidRequest(Small, 100), idempotencyKey: "bid-1");
        var before = await api.SnapshotAsync();

        var error = await Should.ThrowAsync<SystemApiException>(() =>
            api.TypedClient(token).PlaceBidAsync(new PlaceBidRequest(Small, 200), idempotencyKey: "bid-1"));

        error.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        error.Code.ShouldBe(ErrorCodes.Conflict);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Idempotency_keys_are_scoped_per_agent()
    {
        await using var api = new ApiFactory();
        var alice = await api.AgentTokenAsync("alice", 1000);
        var bob = await api.AgentTokenAsync("bob", 1000);

        var a = await api.TypedClient(alice).PlaceBidAsync(new PlaceBidRequest(Small, 100), idempotencyKey: "same");
        var b = await api.TypedClient(bob).PlaceBidAsync(new PlaceBidRequest(Small, 100), idempotencyKey: "same");

        b.Id.ShouldNotBe(a.Id);
        b.AgentId.ShouldBe("bob");
    }

    [Fact]
    public async Task A_malformed_idempotency_key_is_a_validation_problem()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, ApiRoutes.Bids) { Content = JsonContent.Create(new PlaceBidRequest(Small, 10)) };
        request.Headers.TryAddWithoutValidation(ApiRoutes.IdempotencyKeyHeader, new string('k', 200));

        var response = await api.ClientWith(token).SendAsync(request);

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors(ApiRoutes.IdempotencyKeyHeader)
            .ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Fifty_concurrent_bids_from_an_agent_whose_balance_covers_ten_accept_exactly_ten()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        using var http = api.ClientWith(token);

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            http.PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(Small, 100))));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(10);
        responses.Count(r => r.StatusCode == HttpStatusCode.PaymentRequired).ShouldBe(40);
        var balance = await api.TypedClient(token).GetBalanceAsync();
        balance.ShouldBe(new BalanceResponse("alice", 1000, 1000, 0));
        await using var db = await api.DbAsync();
        (await db.Set<BidRecord>().CountAsync()).ShouldBe(10);
        var report = await (await api.LedgerAsync()).CheckConservationAsync();
        report.Holds.ShouldBeTrue();
        report.NegativeAgentAccounts.ShouldBeEmpty();
    }
}
