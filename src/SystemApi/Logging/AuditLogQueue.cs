using Serilog.Sinks.Async;

namespace CyAgents.SystemApi.Logging;

/// <summary>
/// The state of the system log's queue, for the metrics endpoint. The log is created once per process before any host's
/// services exist (<see cref="SystemLog.Create"/>), so its inspector is process-wide; the newest log created is the one reported.
/// </summary>
public sealed class AuditLogQueue : IAsyncLogEventSinkMonitor
{
    private static IAsyncLogEventSinkInspector? _current;

    /// <summary>Events waiting for the file writer.</summary>
    public static long Queued => Volatile.Read(ref _current)?.Count ?? 0;

    /// <summary>Events the queue dropped (0 while it blocks when full, ADR 0080).</summary>
    public static long Dropped => Volatile.Read(ref _current)?.DroppedMessagesCount ?? 0;

    /// <inheritdoc />
    public void StartMonitoring(IAsyncLogEventSinkInspector inspector) => Volatile.Write(ref _current, inspector);

    /// <inheritdoc />
    public void StopMonitoring(IAsyncLogEventSinkInspector inspector) => Interlocked.CompareExchange(ref _current, null, inspector);
}
