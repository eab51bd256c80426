using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// A client of the Docker Engine REST API (v1.41) over its unix socket. No SDK package is served
/// here (ADR 0003), and the handful of calls the sandbox needs are small enough to own.
/// </summary>
public sealed class DockerEngine : IDisposable
{
    /// <summary>Where engines listen by default.</summary>
    public const string DefaultSocket = "/var/run/docker.sock";

    private const string ApiVersion = "v1.41";
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;

    public DockerEngine(string socketPath = DefaultSocket)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        // Wait and build block for as long as the container or build runs; callers cancel instead.
        _http = new HttpClient(handler) { BaseAddress = new Uri($"http://docker/{ApiVersion}/"), Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The engine's socket path.</summary>
    public string SocketPath { get; }

    /// <summary>Throws <see cref="DockerEngineUnavailableException"/> unless the engine answers <c>/_ping</c>.</summary>
    public async Task PingAsync(CancellationToken ct = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var response = await _http.GetAsync("_ping", timeout.Token);
            if (!response.IsSuccessStatusCode)
                throw new DockerEngineUnavailableException(SocketPath, $"/_ping answered {(int)response.StatusCode}");
        }
        catch (HttpRequestException e)
        {
            throw new DockerEngineUnavailableException(SocketPath, e.InnerException?.Message ?? e.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DockerEngineUnavailableException(SocketPath, "no answer to /_ping within 5 s");
        }
    }

    /// <summary>
    /// Waits until the engine answers <c>/_ping</c>, retrying with exponential backoff (<paramref name="first"/>, doubling, at
    /// most <paramref name="longest"/>) and telling <paramref name="onRetry"/> before each pause. Returns how many attempts
    /// failed; only <paramref name="ct"/> ends the wait early (an engine restarting under a run comes back in seconds).
    /// </summary>
    public async Task<int> WaitUntilAvailableAsync(TimeSpan first, TimeSpan longest, Action<DockerEngineUnavailableException, TimeSpan>? onRetry,
        CancellationToken ct)
    {
        var pause = first;
        for (var failed = 0; ; failed++)
        {
            try
            {
                await PingAsync(ct);
                return failed;
            }
            catch (DockerEngineUnavailableException e)
            {
                onRetry?.Invoke(e, pause);
                await Task.Delay(pause, ct);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, longest.Ticks));
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="e"/> says the engine itself went away (socket gone or refused, a response stream cut off
    /// mid-way when the daemon stopped), as opposed to the engine refusing a request.
    /// </summary>
    public static bool IsEngineLost(Exception e) => e is DockerEngineUnavailableException or HttpRequestException or IOException;

    /// <summary>CPUs and memory of the engine's host.</summary>
    public Task<EngineInfo> GetInfoAsync(CancellationToken ct = default) => GetJsonAsync<EngineInfo>("info", ct);

    /// <summary>Creates a container; returns its id.</summary>
    public async Task<string> CreateContainerAsync(ContainerSpec spec, string? name = null, CancellationToken ct = default)
    {
        var path = name is null ? "containers/create" : $"containers/create?name={Uri.EscapeDataString(name)}";
        using var response = await SendAsync(HttpMethod.Post, path, JsonContent.Create(spec, options: Json), ct);
        var created = await response.Content.ReadFromJsonAsync<CreateResponse>(Json, ct);
        return created?.Id ?? throw new DockerEngineException("create", "the engine returned no container id");
    }

    public async Task StartContainerAsync(string id, CancellationToken ct = default)
    {
        using var _ = await SendAsync(HttpMethod.Post, $"containers/{id}/start", null, ct);
    }

    /// <summary>Blocks until the container exits (or <paramref name="ct"/> fires); returns its exit code.</summary>
    public async Task<long> WaitContainerAsync(string id, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Post, $"containers/{id}/wait?condition=not-running", null, ct);
        var wait = await response.Content.ReadFromJsonAsync<WaitResponse>(Json, ct);
        if (wait?.Error?.Message is { Length: > 0 } message)
            throw new DockerEngineException("wait", message);
        return wait?.StatusCode ?? -1;
    }

    /// <summary>Sends a signal; a container that is no longer running is not an error.</summary>
    public async Task KillContainerAsync(string id, string signal = "SIGKILL", CancellationToken ct = default)
    {
        using var response = await _http.PostAsync($"containers/{id}/kill?signal={signal}", null, ct);
        if (response.IsSuccessStatusCode || response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
            return;
        throw await ErrorAsync("kill", response, ct);
    }

    /// <summary>
    /// Changes the caps of a (running) container in place (<c>POST /containers/{id}/update</c>); the engine writes them to its
    /// cgroup at once. Throws <see cref="DockerEngineException"/> with the engine's message when it refuses, e.g. a memory
    /// cap below what the container uses now (the kernel cannot reclaim it: EBUSY).
    /// </summary>
    public async Task UpdateContainerAsync(string id, ContainerUpdate update, CancellationToken ct = default)
    {
        using var _ = await SendAsync(HttpMethod.Post, $"containers/{id}/update", JsonContent.Create(update, options: Json), ct);
    }

    /// <summary>Removes a container (forcefully, with its anonymous volumes); absent is not an error.</summary>
    public async Task RemoveContainerAsync(string id, CancellationToken ct = default)
    {
        using var response = await _http.DeleteAsync($"containers/{id}?force=true&v=true", ct);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound)
            return;
        throw await ErrorAsync("remove", response, ct);
    }

    /// <summary>The container's state and configuration, or null when it does not exist.</summary>
    public async Task<ContainerInspect?> InspectContainerAsync(string id, CancellationToken ct = default)
    {
        HttpResponseMessage response;
        try { response = await _http.GetAsync($"containers/{id}/json", ct); }
        catch (HttpRequestException e) when (e.InnerException is SocketException)
        {
            throw new DockerEngineUnavailableException(SocketPath, e.InnerException.Message);
        }
        using var _ = response;
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw await ErrorAsync("inspect", response, ct);
        return await response.Content.ReadFromJsonAsync<ContainerInspect>(Json, ct);
    }

    /// <summary>
    /// The container's stdout and stderr as the engine's multiplexed stream, from its start and followed until it stops; the
    /// caller reads it as it comes (<see cref="AgentOutput"/>) and disposes it.
    /// </summary>
    public async Task<Stream> FollowLogsAsync(string id, CancellationToken ct = default)
    {
        var response = await SendAsync(HttpMethod.Get, $"containers/{id}/logs?stdout=true&stderr=true&follow=true", null, ct);
        try
        {
            return await response.Content.ReadAsStreamAsync(ct);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Attaches to a created container's stdout and stderr before it starts: the engine's multiplexed raw stream straight
    /// from the container's pipes (no log file in between), ending when the container stops. The caller disposes it.
    /// </summary>
    public async Task<Stream> AttachAsync(string id, CancellationToken ct = default)
    {
        var response = await SendAsync(HttpMethod.Post, $"containers/{id}/attach?stream=true&stdout=true&stderr=true", null, ct);
        try
        {
            return await response.Content.ReadAsStreamAsync(ct);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The engine's events about one container from now on, as its newline-delimited JSON stream (ends when the daemon stops);
    /// the caller reads it as it comes (<see cref="ContainerEvents"/>) and disposes it.
    /// </summary>
    public async Task<Stream> EventsAsync(string containerId, CancellationToken ct = default)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["type"] = ["container"], ["container"] = [containerId] });
        var response = await SendAsync(HttpMethod.Get, $"events?filters={Uri.EscapeDataString(filters)}", null, ct);
        try
        {
            return await response.Content.ReadAsStreamAsync(ct);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Containers (running or not) carrying a label, e.g. <c>cyagents.managed=true</c>.</summary>
    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string label, CancellationToken ct = default)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = [label] });
        return await GetJsonAsync<List<ContainerSummary>>($"containers/json?all=true&filters={Uri.EscapeDataString(filters)}", ct);
    }

    /// <summary>An image by name or id, or null when the engine does not have it.</summary>
    public async Task<ImageInspect?> InspectImageAsync(string name, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync($"images/{name}/json", ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw await ErrorAsync("image inspect", response, ct);
        return await response.Content.ReadFromJsonAsync<ImageInspect>(Json, ct);
    }

    /// <summary>Builds an image from a tar build context (Dockerfile at its root) and tags it.</summary>
    public async Task<string> BuildImageAsync(Stream tarContext, string tag, CancellationToken ct = default)
    {
        var content = new StreamContent(tarContext);
        content.Headers.ContentType = new("application/x-tar");
        using var response = await SendAsync(HttpMethod.Post, $"build?t={Uri.EscapeDataString(tag)}&rm=true&forcerm=true", content, ct);
        // The build streams JSON messages; a failed step arrives as {"error": ...} with status 200.
        var body = await response.Content.ReadAsStringAsync(ct);
        string? imageId = null;
        var output = new StringBuilder();
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var message = JsonSerializer.Deserialize<BuildMessage>(line, Json);
            if (message?.Error is { } error)
                throw new DockerEngineException("build", $"{error.Trim()} (output: {output.ToString().Trim()})");
            if (message?.Stream is { } text) output.Append(text);
            if (message?.Aux?.Id is { } id) imageId = id;
        }
        return imageId ?? (await InspectImageAsync(tag, ct))?.Id
            ?? throw new DockerEngineException("build", $"no image came out of the build: {output.ToString().Trim()}");
    }

    /// <summary>The images of one repository (e.g. <c>cyagents/runtime-python</c>), every tag.</summary>
    public async Task<IReadOnlyList<ImageSummary>> ListImagesAsync(string repository, CancellationToken ct = default)
    {
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["reference"] = [repository] });
        return await GetJsonAsync<List<ImageSummary>>($"images/json?filters={Uri.EscapeDataString(filters)}", ct);
    }

    /// <summary>Removes one tag of an image (the image goes with its last tag); absent is not an error, in use (409) is thrown.</summary>
    public async Task RemoveImageAsync(string name, CancellationToken ct = default)
    {
        using var response = await _http.DeleteAsync($"images/{name}", ct);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound)
            return;
        throw await ErrorAsync("image remove", response, ct);
    }

    /// <summary>The file system of a (created, not necessarily started) container as a tar stream.</summary>
    public async Task<Stream> ExportContainerAsync(string id, CancellationToken ct = default)
    {
        var response = await SendAsync(HttpMethod.Get, $"containers/{id}/export", null, ct);
        return await response.Content.ReadAsStreamAsync(ct);
    }

    private async Task<T> GetJsonAsync<T>(string path, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct)
            ?? throw new DockerEngineException(path, "the engine returned an empty body");
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException)
        {
            throw new DockerEngineUnavailableException(SocketPath, e.InnerException.Message);
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
            throw await ErrorAsync(path.Split('?')[0], response, ct);
    }

    private static async Task<DockerEngineException> ErrorAsync(string operation, HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        string? message = null;
        try { message = JsonSerializer.Deserialize<EngineError>(body, Json)?.Message; }
        catch (JsonException) { }
        return new DockerEngineException(operation, $"{(int)response.StatusCode}: {message ?? body.Trim()}", response.StatusCode);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The engine refused or failed a request; the message is the engine's own.</summary>
public class DockerEngineException(string operation, string message, HttpStatusCode? status = null)
    : Exception(operation == "connect" ? message : $"Docker engine: {operation} failed: {message}")
{
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>No engine answers on the socket; the message says how to start one.</summary>
public sealed class DockerEngineUnavailableException(string socketPath, string reason)
    : DockerEngineException("connect", Describe(socketPath, reason))
{
    private static string Describe(string socketPath, string reason) =>
        $"No Docker engine answers on {socketPath} ({reason}). Start one with scripts/ensure-docker and try again.";
}
