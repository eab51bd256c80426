using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>GET /v1/events read during a real run on the real engine: disconnect, resume with Last-Event-ID, nothing missed or doubled.</summary>
[Collection(DockerCollection.Name)]
public sealed class EventStreamTests(DockerFixture docker)
{
    private sealed record Received(long Id, string Type, JsonElement Data);

    [Fact]
    public async Task A_reader_that_disconnects_mid_run_and_resumes_with_last_event_id_gets_every_event_once_in_order()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "events-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var port = Live.FreePort();
        var settings = Live.Settings(root) with { ApiUrls = $"http://127.0.0.1:{port}" };
        var received = new List<Received>();
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            var token = (await File.ReadAllTextAsync(Path.Combine(settings.DataDirectory, "operator.token"))).Trim();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            var run = economy.RunCyclesAsync(3, TimeSpan.Zero);
            // First connection: read until the first execution has started, then drop the connection mid-run.
            await ReadAsync(http, null, received, stopWhen: e => e.Type == EventTypes.ExecutionStarted, TimeSpan.FromSeconds(60));
            received.ShouldNotBeEmpty();
            var resumeFrom = received[^1].Id;
            (await run).Count.ShouldBe(3);

            // Second connection: resume from the last id seen; read until the run's last event.
            long lastInTable;
            await using (var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions()))
                lastInTable = await db.Set<EventRecord>().MaxAsync(e => e.Seq);
            await ReadAsync(http, resumeFrom, received, stopWhen: e => e.Id >= lastInTable, TimeSpan.FromSeconds(30));
        }

        await using var check = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        var table = await check.Set<EventRecord>().OrderBy(e => e.Seq).Select(e => e.Seq).ToListAsync();
        received.Select(e => e.Id).ShouldBe(table);
        var types = received.Select(e => e.Type).ToHashSet();
        foreach (var type in new[] { EventTypes.CycleStarted, EventTypes.BidPlaced, EventTypes.BidSettled, EventTypes.CycleSettled,
                     EventTypes.ExecutionStarted, EventTypes.ExecutionOutput, EventTypes.ExecutionEnded, EventTypes.AgentSpawned, EventTypes.CycleCompleted,
                     EventTypes.LedgerTransfer })
            types.ShouldContain(type);
        // A won bid carries its payment.
        received.First(e => e.Type == EventTypes.BidSettled && e.Data.GetProperty("data").GetProperty("outcome").GetString() == "won")
            .Data.GetProperty("data").TryGetProperty("payment", out _).ShouldBeTrue();
        // Output arrived while the execution ran: between its started and ended events.
        var output = received.First(e => e.Type == EventTypes.ExecutionOutput);
        var execution = output.Data.GetProperty("data").GetProperty("executionId").GetString();
        var ended = received.First(e => e.Type == EventTypes.ExecutionEnded && e.Data.GetProperty("data").GetProperty("executionId").GetString() == execution);
        output.Id.ShouldBeLessThan(ended.Id);
    }

    /// <summary>Reads SSE frames into <paramref name="into"/> until <paramref name="stopWhen"/> holds, then closes the connection.</summary>
    private static async Task ReadAsync(HttpClient http, long? lastEventId, List<Received> into, Func<Received, bool> stopWhen, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        if (lastEventId is { } id) request.Headers.Add("Last-Event-ID", id.ToString());
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        long? frameId = null;
        string? type = null, data = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal)) frameId = long.Parse(line[4..]);
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            else if (line.Length == 0 && frameId is not null)
            {
                var e = new Received(frameId.Value, type!, JsonDocument.Parse(data!).RootElement.Clone());
                into.Add(e);
                frameId = null;
                if (stopWhen(e)) return;
            }
        }
        throw new InvalidOperationException("the event stream ended before the awaited event");
    }

}
