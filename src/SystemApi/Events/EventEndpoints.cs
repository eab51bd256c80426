using System.Text;
using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Events;

/// <summary>
/// <c>GET /v1/events</c>: server-sent events read from the events table (ADR 0111). Each event's SSE id is its sequence number,
/// so a client that reconnects with <c>Last-Event-ID</c> (or <c>?after=</c>) gets exactly the events after it, in order. The
/// operator sees every event; an agent only those about itself. A subscriber holds at most one page in memory: a slow one
/// lags behind in the table, not in this process, and is dropped when its socket stops taking bytes.
/// </summary>
internal static class EventEndpoints
{
    public const string Path = "/v1/events";
    private static int _subscribers;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(Path, StreamAsync).RequireAuthorization(Caller.AnyPolicy).ExcludeFromDescription();

    private static async Task<IResult> StreamAsync(HttpContext http, IDbContextFactory<CyAgentsDbContext> databases, EventPulse pulse,
        IOptions<EventStreamOptions> settings, long? after, CancellationToken ct)
    {
        var o = settings.Value;
        var caller = Caller.From(http.User);
        var from = after ?? 0;
        if (http.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } header)
        {
            if (!long.TryParse(header, out from) || from < 0)
                return Problems.Result(400, ErrorCodes.Validation, "Last-Event-ID: must be the id of an event (a non-negative integer)");
        }
        if (from < 0) return Problems.Result(400, ErrorCodes.Validation, "after: must be a non-negative integer");
        if (Interlocked.Increment(ref _subscribers) > o.MaxSubscribers)
        {
            Interlocked.Decrement(ref _subscribers);
            return Problems.Result(429, ErrorCodes.RateLimited, $"{o.MaxSubscribers} event streams are open already; try again later");
        }
        try
        {
            await RunAsync(http, databases, pulse, o, caller.IsOperator ? null : caller.AgentId, from, ct);
        }
        finally
        {
            Interlocked.Decrement(ref _subscribers);
        }
        return Results.Empty;
    }

    private static async Task RunAsync(HttpContext http, IDbContextFactory<CyAgentsDbContext> databases, EventPulse pulse,
        EventStreamOptions o, string? agentId, long last, CancellationToken ct)
    {
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var body = http.Response.Body;
        // Tells EventSource to wait a second before reconnecting; the first bytes also open the stream at once.
        await WriteAsync(body, "retry: 1000\n\n", o, ct);
        var quietSince = DateTime.UtcNow;
        while (!ct.IsCancellationRequested)
        {
            List<EventRecord> page;
            await using (var db = await databases.CreateDbContextAsync(ct))
            {
                var query = db.Set<EventRecord>().AsNoTracking().Where(e => e.Seq > last);
                if (agentId is not null) query = query.Where(e => e.AgentId == agentId);
                page = await query.OrderBy(e => e.Seq).Take(o.PageSize).ToListAsync(ct);
            }
            if (page.Count > 0)
            {
                var text = new StringBuilder();
                foreach (var e in page) Frame(text, e);
                await WriteAsync(body, text.ToString(), o, ct);
                last = page[^1].Seq;
                quietSince = DateTime.UtcNow;
                if (page.Count == o.PageSize) continue;
            }
            else if (DateTime.UtcNow - quietSince >= o.HeartbeatInterval)
            {
                await WriteAsync(body, ": heartbeat\n\n", o, ct);
                quietSince = DateTime.UtcNow;
            }
            await pulse.WaitAsync(o.PollInterval, ct);
        }
    }

    /// <summary>One SSE frame; the data is the stored JSON object wrapped with the envelope's fields (one line, no newlines).</summary>
    private static void Frame(StringBuilder text, EventRecord e)
    {
        text.Append("id: ").Append(e.Seq).Append('\n');
        text.Append("event: ").Append(e.Type).Append('\n');
        text.Append("data: {\"seq\":").Append(e.Seq).Append(",\"type\":\"").Append(e.Type).Append('"');
        if (e.AgentId is not null) text.Append(",\"agentId\":").Append(System.Text.Json.JsonSerializer.Serialize(e.AgentId));
        if (e.Cycle is not null) text.Append(",\"cycle\":").Append(e.Cycle.Value);
        text.Append(",\"at\":\"").Append(e.At.UtcDateTime.ToString("O")).Append("\",\"data\":").Append(e.Data).Append("}\n\n");
    }

    /// <summary>Writes and flushes; a subscriber that takes nothing for <see cref="EventStreamOptions.SlowConsumerTimeout"/> is dropped.</summary>
    private static async Task WriteAsync(Stream body, string text, EventStreamOptions o, CancellationToken ct)
    {
        using var slow = CancellationTokenSource.CreateLinkedTokenSource(ct);
        slow.CancelAfter(o.SlowConsumerTimeout);
        await body.WriteAsync(Encoding.UTF8.GetBytes(text), slow.Token);
        await body.FlushAsync(slow.Token);
    }
}
