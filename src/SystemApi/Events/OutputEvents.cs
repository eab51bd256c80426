using System.Threading.Channels;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Events;

/// <summary>
/// Agent output lines on their way to the events table: queued by the sandbox's output reader while the container runs (it
/// must never wait for the database) and written in batches by one background writer. The queue is bounded
/// (<see cref="EventStreamOptions.OutputQueueCapacity"/>); a line that finds it full is left out of the stream and counted —
/// system.log still has every line.
/// </summary>
public sealed class OutputEvents(IDbContextFactory<CyAgentsDbContext> databases, IOptions<EventStreamOptions> options, TimeProvider clock,
    ILogger<OutputEvents> log) : BackgroundService
{
    private readonly Channel<EventRecord> _queue = Channel.CreateBounded<EventRecord>(
        new BoundedChannelOptions(Math.Max(1, options.Value.OutputQueueCapacity)) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _dropped;

    /// <summary>Lines left out of the stream because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues one line of <paramref name="agentId"/>'s output; never blocks.</summary>
    public void Line(string agentId, string executionId, long cycle, string stream, string text)
    {
        var record = EventRecords.Create(EventTypes.ExecutionOutput, agentId, cycle, clock.GetUtcNow(), new { executionId, stream, line = text });
        if (!_queue.Writer.TryWrite(record)) Interlocked.Increment(ref _dropped);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<EventRecord>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
                await WriteAsync(batch);
        }
        catch (OperationCanceledException) { }
        // Lines read before the stop still reach the table.
        await WriteAsync(batch);
    }

    private async Task WriteAsync(List<EventRecord> batch)
    {
        batch.Clear();
        while (batch.Count < 500 && _queue.Reader.TryRead(out var e)) batch.Add(e);
        if (batch.Count == 0) return;
        try
        {
            await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
            db.AddRange(batch);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            Interlocked.Add(ref _dropped, batch.Count);
            log.LogWarning("{Count} output lines could not be added to the event stream: {Error}", batch.Count, e.Message);
        }
    }
}
