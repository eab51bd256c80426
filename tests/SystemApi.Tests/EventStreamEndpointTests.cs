using System.Net;
using System.Net.Http.Headers;
using CyAgents.Persistence.Events;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

/// <summary>GET /v1/events: who sees what, resuming, heartbeats and refusals (the live-run acceptance test is in EndToEnd).</summary>
public sealed class EventStreamEndpointTests : IDisposable
{
    private readonly ApiFactory _api = new(new Dictionary<string, string?>
    {
        ["Events:HeartbeatInterval"] = "00:00:00.200", ["Events:PollInterval"] = "00:00:00.050",
    });

    public void Dispose() => _api.Dispose();

    private async Task SeedAsync()
    {
        await using var db = await _api.DbAsync();
        var at = DateTimeOffset.UnixEpoch;
        db.Add(EventRecords.Create(EventTypes.CycleStarted, null, 1, at, new { cycle = 1 }));
        db.Add(EventRecords.Create(EventTypes.BidPlaced, "alice", 1, at, new { bidId = "a1" }));
        db.Add(EventRecords.Create(EventTypes.BidPlaced, "bob", 1, at, new { bidId = "b1" }));
        db.Add(EventRecords.Create(EventTypes.BidSettled, "alice", 1, at, new { bidId = "a1", outcome = "won", payment = 7 }));
        await db.SaveChangesAsync();
    }

    /// <summary>The frames and comment lines read until <paramref name="count"/> events (and, if asked, one heartbeat) arrived.</summary>
    internal static async Task<(List<(long Id, string Type, string Data)> Events, bool Heartbeat)> ReadAsync(HttpClient client, int count,
        string? lastEventId = null, bool untilHeartbeat = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<(long, string, string)>();
        long id = 0;
        string type = "", data = "";
        var heartbeat = false;
        while (events.Count < count || (untilHeartbeat && !heartbeat))
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("stream ended");
            if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line[4..]);
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            else if (line == ": heartbeat") heartbeat = true;
            else if (line.Length == 0 && id > 0) { events.Add((id, type, data)); id = 0; }
        }
        return (events, heartbeat);
    }

    [Fact]
    public async Task The_operator_sees_every_event_and_an_agent_only_its_own()
    {
        var alice = await _api.AgentTokenAsync("alice");
        await SeedAsync();

        var all = await ReadAsync(_api.ClientWith(ApiFactory.OperatorSecret), 4);
        all.Events.Select(e => e.Type).ShouldBe([EventTypes.CycleStarted, EventTypes.BidPlaced, EventTypes.BidPlaced, EventTypes.BidSettled]);

        var own = await ReadAsync(_api.ClientWith(alice), 2, untilHeartbeat: true);
        own.Events.Select(e => e.Data).ShouldAllBe(d => d.Contains("\"agentId\":\"alice\""));
        own.Events[1].Data.ShouldContain("\"data\":{\"bidId\":\"a1\",\"outcome\":\"won\",\"payment\":7}");
        // Nothing of bob's or of the market arrived before the heartbeat that says the stream is idle.
        own.Heartbeat.ShouldBeTrue();
    }

    [Fact]
    public async Task Last_event_id_resumes_after_that_event_and_new_events_follow_live()
    {
        await SeedAsync();
        var client = _api.ClientWith(ApiFactory.OperatorSecret);
        var first = await ReadAsync(client, 4);

        var resumed = ReadAsync(client, 3, lastEventId: first.Events[1].Id.ToString());
        await Task.Delay(300);
        await using (var db = await _api.DbAsync())
        {
            db.Add(EventRecords.Create(EventTypes.CycleCompleted, null, 1, DateTimeOffset.UnixEpoch, new { cycle = 1 }));
            await db.SaveChangesAsync();
        }
        var after = await resumed;
        after.Events.Take(2).Select(e => e.Id).ShouldBe([first.Events[2].Id, first.Events[3].Id]);
        after.Events[2].Type.ShouldBe(EventTypes.CycleCompleted);
        after.Events[2].Id.ShouldBeGreaterThan(first.Events[3].Id);
    }

    [Fact]
    public async Task Without_a_token_or_with_a_bad_last_event_id_the_stream_is_refused()
    {
        (await _api.ClientWith(null).GetAsync("/v1/events")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        request.Headers.Add("Last-Event-ID", "yesterday");
        var answer = await _api.ClientWith(ApiFactory.OperatorSecret).SendAsync(request);
        await answer.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }
}
