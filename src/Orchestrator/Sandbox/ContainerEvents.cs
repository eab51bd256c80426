using System.Text.Json;
using System.Text.Json.Serialization;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// The engine's own account of one container, read from its <c>/events</c> stream while the container runs (ADR 0089): who
/// stopped it. A container the orchestrator did not signal but that got a <c>kill</c> anyway was stopped from the host's side
/// — a daemon shutting down signals every container (SIGTERM, then SIGKILL), and an agent that exits 0 on that SIGTERM
/// looks like a success in <c>wait</c> and <c>inspect</c>. A stream the engine cut before the container's <c>die</c> means
/// the engine itself went away.
/// </summary>
public sealed class ContainerEvents
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };
    private readonly TaskCompletionSource _died = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly List<string> _kills = [];
    private Task _reading = Task.CompletedTask;

    /// <summary>No stream watched (before a container exists).</summary>
    public static ContainerEvents None => new();

    /// <summary>The signals of every <c>kill</c> the engine reported for the container, in order.</summary>
    public IReadOnlyList<string> Kills
    {
        get { lock (_gate) return [.. _kills]; }
    }

    /// <summary>Whether the stream reached the container's <c>die</c>.</summary>
    public bool Died => _died.Task.IsCompletedSuccessfully;

    /// <summary>Why the stream ended before the container died (the engine went away), or null.</summary>
    public string? CutBeforeDeath { get; private set; }

    /// <summary>Whether the stream could be opened at all; without it the classification falls back to exit codes and a ping.</summary>
    public bool Watching { get; private set; }

    /// <summary>Opens the container's event stream (before it starts) and reads it in the background.</summary>
    public static async Task<ContainerEvents> WatchAsync(DockerEngine engine, string containerId, CancellationToken ct)
    {
        var events = new ContainerEvents();
        try
        {
            var stream = await engine.EventsAsync(containerId, ct);
            events.Watching = true;
            events._reading = events.ReadAsync(stream, ct);
        }
        catch (DockerEngineException e) when (e is not DockerEngineUnavailableException)
        {
            // An engine without the events endpoint: nothing to watch.
        }
        return events;
    }

    /// <summary>Waits (at most <paramref name="patience"/>) until the stream saw the container die or ended.</summary>
    public async Task SettleAsync(TimeSpan patience)
    {
        if (!Watching) return;
        await Task.WhenAny(_died.Task, _reading, Task.Delay(patience));
    }

    /// <summary>Ends the background read.</summary>
    public async Task StopAsync()
    {
        try { await _reading; } catch (Exception) { /* ended by cancellation */ }
    }

    /// <summary>Reads newline-delimited event messages until the stream ends or <paramref name="ct"/> fires.</summary>
    public async Task ReadAsync(Stream stream, CancellationToken ct)
    {
        try
        {
            await using var _ = stream;
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(ct) is { } line)
                Observe(line);
            if (!Died) CutBeforeDeath = "the engine closed its event stream before the container died";
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            if (!Died) CutBeforeDeath = $"the engine's event stream was cut: {e.Message}";
        }
    }

    /// <summary>Takes one event message; lines that are not container events are ignored.</summary>
    public void Observe(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return;
        EngineEvent? message;
        try { message = JsonSerializer.Deserialize<EngineEvent>(line, Json); }
        catch (JsonException) { return; }
        switch (message?.Action)
        {
            case "kill":
                lock (_gate) _kills.Add(message.Actor?.Attributes?.GetValueOrDefault("signal") ?? "?");
                break;
            case "die":
                _died.TrySetResult();
                break;
        }
    }

    private sealed record EngineEvent(string? Type, string? Action, EventActor? Actor);
    private sealed record EventActor([property: JsonPropertyName("ID")] string? Id, Dictionary<string, string>? Attributes);
}
