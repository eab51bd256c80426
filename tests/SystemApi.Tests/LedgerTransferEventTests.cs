using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Events;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// <c>ledger.transfer</c> events (ADR 0130), read through GET /v1/events: every stored transfer is an event in its own
/// transaction, each agent side in that agent's stream with its balance after, host-only transfers for the operator alone.
/// </summary>
public sealed class LedgerTransferEventTests : IDisposable
{
    private readonly ApiFactory _api = new(new Dictionary<string, string?> { ["Events:PollInterval"] = "00:00:00.050" });

    public void Dispose() => _api.Dispose();

    private sealed record Frame(long Id, string Type, JsonElement Envelope)
    {
        public JsonElement Data => Envelope.GetProperty("data");
        public string? AgentId => Envelope.TryGetProperty("agentId", out var a) ? a.GetString() : null;
    }

    /// <summary>Reads the stream from the start until <paramref name="count"/> ledger.transfer events arrived.</summary>
    private static async Task<List<Frame>> TransfersAsync(HttpClient client, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await client.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var frames = new List<Frame>();
        long id = 0;
        string type = "", data = "";
        while (frames.Count < count)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("stream ended");
            if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line[4..]);
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            else if (line.Length == 0 && id > 0)
            {
                if (type == EventTypes.LedgerTransfer) frames.Add(new Frame(id, type, JsonDocument.Parse(data).RootElement.Clone()));
                id = 0;
            }
        }
        return frames;
    }

    [Fact]
    public async Task A_bid_escrow_is_an_event_in_the_agents_stream_with_its_balance_after()
    {
        var alice = await _api.AgentTokenAsync("alice", 1000);
        var placed = await _api.ClientWith(alice).PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(new ResourceBundleDto(500, 256, 1000, 0), 120));
        placed.StatusCode.ShouldBe(HttpStatusCode.Created);
        var bid = (await placed.Content.ReadFromJsonAsync<BidResponse>())!;

        var seen = await TransfersAsync(_api.ClientWith(alice), 2);

        seen.ShouldAllBe(f => f.AgentId == "alice");
        var endowment = seen[0].Data;
        endowment.GetProperty("kind").GetString().ShouldBe("endowment");
        endowment.GetProperty("state").GetString().ShouldBe("posted");
        endowment.GetProperty("side").GetString().ShouldBe("credit");
        endowment.GetProperty("balance").GetProperty("posted").GetInt64().ShouldBe(1000);
        var escrow = seen[1].Data;
        escrow.GetProperty("transferId").GetString().ShouldBe(bid.EscrowTransferId);
        escrow.GetProperty("kind").GetString().ShouldBe("bidEscrow");
        escrow.GetProperty("state").GetString().ShouldBe("pending");
        escrow.GetProperty("debit").GetString().ShouldBe("agent:alice");
        escrow.GetProperty("credit").GetString().ShouldBe(AccountIds.Escrow);
        escrow.GetProperty("amount").GetInt64().ShouldBe(120);
        escrow.GetProperty("cycle").GetInt64().ShouldBe(bid.Cycle);
        escrow.GetProperty("side").GetString().ShouldBe("debit");
        var balance = escrow.GetProperty("balance");
        (balance.GetProperty("posted").GetInt64(), balance.GetProperty("reserved").GetInt64(), balance.GetProperty("available").GetInt64())
            .ShouldBe((1000L, 120L, 880L));
    }

    [Fact]
    public async Task A_transfer_between_agents_is_in_both_streams_and_a_host_transfer_only_in_the_operators()
    {
        var alice = await _api.AgentTokenAsync("alice", 100);
        var bob = await _api.AgentTokenAsync("bob", 0);
        var ledger = await _api.LedgerAsync();
        await ledger.TransferAsync(new TransferRequest("gift-1", AccountIds.ForAgent("alice"), AccountIds.ForAgent("bob"), 30, TransferKind.Gift, 4, Memo: "thanks"));
        await ledger.TransferAsync(new TransferRequest("hold-1", AccountIds.ForAgent("alice"), AccountIds.Escrow, 20, TransferKind.BidEscrow, 4, Pending: true));
        await ledger.ApplyBatchAsync(
        [
            new PendingResolution("settle-1", "hold-1", Void: false, Amount: 15, Cycle: 4),
            new TransferRequest("charge-1", AccountIds.Escrow, AccountIds.Treasury, 15, TransferKind.ClearingCharge, 4),
        ]);

        // alice: endowment, gift (debit), hold, its resolution. bob: the gift (credit) only.
        var mine = await TransfersAsync(_api.ClientWith(alice), 4);
        mine.Select(f => f.Data.GetProperty("transferId").GetString()).ShouldBe(["seed:alice", "gift-1", "hold-1", "settle-1"]);
        mine[1].Data.GetProperty("memo").GetString().ShouldBe("thanks");
        mine[1].Data.GetProperty("side").GetString().ShouldBe("debit");
        var settle = mine[3].Data;
        settle.GetProperty("state").GetString().ShouldBe("pendingPosted");
        settle.GetProperty("pendingId").GetString().ShouldBe("hold-1");
        settle.GetProperty("postedAmount").GetInt64().ShouldBe(15);
        settle.GetProperty("balance").GetProperty("posted").GetInt64().ShouldBe(100 - 30 - 15);
        settle.GetProperty("balance").GetProperty("reserved").GetInt64().ShouldBe(0);

        var theirs = await TransfersAsync(_api.ClientWith(bob), 1);
        theirs[0].Data.GetProperty("transferId").GetString().ShouldBe("gift-1");
        theirs[0].Data.GetProperty("side").GetString().ShouldBe("credit");
        theirs[0].Data.GetProperty("balance").GetProperty("posted").GetInt64().ShouldBe(30);

        // The operator: every side, and the escrow-to-treasury charge as one market-wide event, in ledger order.
        var all = await TransfersAsync(_api.ClientWith(ApiFactory.OperatorSecret), 6);
        all.Select(f => (f.Data.GetProperty("transferId").GetString(), f.AgentId)).ShouldBe(
            [("seed:alice", "alice"), ("gift-1", "alice"), ("gift-1", "bob"), ("hold-1", "alice"), ("settle-1", "alice"), ("charge-1", null)]);
        all[5].Data.TryGetProperty("side", out _).ShouldBeFalse();
        all.Select(f => f.Data.GetProperty("sequence").GetInt64()).ShouldBeInOrder();
    }

    [Fact]
    public async Task A_refused_transfer_leaves_no_event()
    {
        await _api.AgentTokenAsync("alice", 10);
        var ledger = await _api.LedgerAsync();
        await Should.ThrowAsync<LedgerException>(async () =>
            await ledger.TransferAsync(new TransferRequest("too-much", AccountIds.ForAgent("alice"), AccountIds.Treasury, 11, TransferKind.SpawnFee)));
        // A replay of a stored transfer stores nothing, so it adds no event either.
        await ledger.TransferAsync(new TransferRequest("seed:alice", AccountIds.Treasury, AccountIds.ForAgent("alice"), 10, TransferKind.Endowment));

        await using var db = await _api.DbAsync();
        db.Set<EventRecord>().Where(e => e.Type == EventTypes.LedgerTransfer).Select(e => e.Data).ToList()
            .ShouldHaveSingleItem().ShouldContain("\"transferId\":\"seed:alice\"");
    }
}
