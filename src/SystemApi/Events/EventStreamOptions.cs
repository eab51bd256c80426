namespace CyAgents.SystemApi.Events;

/// <summary>Bounds of <c>GET /v1/events</c> (configuration section <c>Events</c>).</summary>
public sealed class EventStreamOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Events";

    /// <summary>A comment line is sent when nothing else was sent for this long (default 5 s), so proxies and clients see a live stream.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait between two reads of the events table (writers in other processes do not pulse this one).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Events read and written per round; the most a subscriber holds in memory.</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>Streams open at once; beyond, 503 <c>unavailable</c>.</summary>
    public int MaxSubscribers { get; set; } = 64;

    /// <summary>A subscriber whose socket accepts nothing for this long is dropped (it resumes later with Last-Event-ID).</summary>
    public TimeSpan SlowConsumerTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Lines of agent output queued for the events table; beyond, lines are left out of the stream (not of system.log).</summary>
    public int OutputQueueCapacity { get; set; } = 10_000;
}
