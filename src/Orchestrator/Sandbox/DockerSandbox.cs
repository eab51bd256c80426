using System.Globalization;
using CyAgents.Persistence.Records;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>Settings of the Docker sandbox (section <c>Sandbox</c>).</summary>
public sealed record SandboxOptions
{
    /// <summary>The agent image tag (set once it is built).</summary>
    public string Image { get; init; } = "";
    /// <summary>
    /// Which orchestrator owns the containers: the value of <see cref="DockerSandbox.ManagedLabel"/>. Derived from the
    /// database path (<see cref="InstanceOf"/>), so crash recovery of one orchestrator never removes another's containers
    /// on the same engine.
    /// </summary>
    public string Instance { get; init; } = DefaultInstance;
    /// <summary>The instance of a sandbox configured without a database (tests of the sandbox alone).</summary>
    public const string DefaultInstance = "default";

    /// <summary>The instance name of the orchestrator that keeps its books in <paramref name="databasePath"/>.</summary>
    public static string InstanceOf(string databasePath) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(databasePath))))[..16];
    /// <summary>Host folder holding the System API's unix socket; mounted read-only.</summary>
    public required string ApiSocketFolder { get; init; }
    /// <summary>Where that folder appears inside the container.</summary>
    public string ContainerApiFolder { get; init; } = "/run/cyagents";
    /// <summary>Processes the agent may have at once.</summary>
    public long PidsLimit { get; init; } = 64;
    /// <summary>Size of the writable /tmp (tmpfs).</summary>
    public string TmpfsSize { get; init; } = "16m";
    /// <summary>Agent whose container is kept after exit and which waits for a debugger; null for none.</summary>
    public string? DebugAgentId { get; init; }
    /// <summary>Host folder with vsdbg, mounted read-only at /vsdbg for the debugged agent.</summary>
    public string DebuggerFolder { get; init; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".vsdbg");
    /// <summary>How long the debugged agent waits for an attach.</summary>
    public TimeSpan DebuggerWait { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Runs executions as hardened, network-less containers through the Engine API (ADRs 0001-0003):
/// caps from the won bundle, read-only root, tmpfs /tmp, no capabilities, no new privileges, uid 10001,
/// the workspace read-write and the API socket's folder read-only — nothing else of the host.
/// </summary>
public sealed class DockerSandbox(DockerEngine engine, SandboxOptions options, ILogger<DockerSandbox> logger, TimeProvider? clock = null) : ISandbox
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Label on every container this program creates, valued with its <see cref="SandboxOptions.Instance"/>; crash recovery looks for it.</summary>
    public const string ManagedLabel = "cyagents.managed";

    /// <summary>The engine's label filter for the containers of one orchestrator instance.</summary>
    public static string ManagedBy(string instance) => $"{ManagedLabel}={instance}";
    public const string AgentLabel = "cyagents.agent";
    public const string ExecutionLabel = "cyagents.execution";
    public const string CycleLabel = "cyagents.cycle";

    /// <summary>Called after the container exited and before it is removed (tests inspect it here).</summary>
    public Func<ContainerInspect, Task>? OnExited { get; set; }

    /// <summary>The create body for an execution; public so its caps can be checked without an engine.</summary>
    public ContainerSpec Specify(ExecutionRequest request)
    {
        var debug = request.AgentId == options.DebugAgentId;
        var memory = request.Bundle.MemoryMiB * 1024 * 1024;
        var binds = new List<string>
        {
            $"{Path.GetFullPath(request.Workspace)}:/workspace:rw",
            $"{Path.GetFullPath(options.ApiSocketFolder)}:{options.ContainerApiFolder}:ro",
        };
        var env = new List<string>();
        if (debug)
        {
            binds.Add($"{Path.GetFullPath(options.DebuggerFolder)}:/vsdbg:ro");
            env.Add("CYAGENTS_WAIT_FOR_DEBUGGER=1");
            env.Add($"CYAGENTS_DEBUGGER_TIMEOUT_SECONDS={(int)options.DebuggerWait.TotalSeconds}");
        }
        return new ContainerSpec
        {
            Image = options.Image,
            User = $"{AgentImage.SandboxUid}:{AgentImage.SandboxUid}",
            WorkingDir = "/workspace",
            Env = env,
            NetworkDisabled = true,
            Labels = new Dictionary<string, string>
            {
                [ManagedLabel] = options.Instance,
                [AgentLabel] = request.AgentId,
                [ExecutionLabel] = request.ExecutionId,
                [CycleLabel] = request.Cycle.ToString(CultureInfo.InvariantCulture),
            },
            HostConfig = new HostConfig
            {
                Binds = binds,
                Memory = memory,
                MemorySwap = memory, // equal to Memory: no swap beyond the cap
                NanoCpus = request.Bundle.CpuMillicores * 1_000_000,
                PidsLimit = options.PidsLimit,
                ReadonlyRootfs = true,
                Tmpfs = new Dictionary<string, string> { ["/tmp"] = $"rw,noexec,nosuid,size={options.TmpfsSize}" },
                CapDrop = ["ALL"],
                SecurityOpt = ["no-new-privileges"],
                NetworkMode = "none",
            },
        };
    }

    public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
    {
        ExecutionOutcome outcome;
        using (logger.BeginScope(Tags(request, "Orchestrator")))
            outcome = await RunContainerAsync(request, ct);
        // The agent's own output is logged under its own component tag (one scope, not nested in the orchestrator's).
        using (logger.BeginScope(Tags(request, $"Agent:{request.AgentId}")))
        {
            foreach (var line in outcome.Logs)
            {
                if (line.Stream == "stderr") logger.LogWarning("{Stream}: {Line}", line.Stream, line.Text);
                else logger.LogInformation("{Stream}: {Line}", line.Stream, line.Text);
            }
        }
        return outcome;
    }

    private static Dictionary<string, object> Tags(ExecutionRequest request, string component) => new()
    {
        ["Component"] = component, ["Cycle"] = request.Cycle, ["ExecutionId"] = request.ExecutionId, ["AgentId"] = request.AgentId,
    };

    private async Task<ExecutionOutcome> RunContainerAsync(ExecutionRequest request, CancellationToken ct)
    {
        var debug = request.AgentId == options.DebugAgentId;
        string containerId;
        DateTimeOffset startedAt;
        if (ct.IsCancellationRequested)
            return new ExecutionOutcome(ExecutionStatus.Abandoned, null, null, null, _clock.GetUtcNow(), "not started: the orchestrator is shutting down", []);
        try
        {
            // Create and start are quick and not cancelled half-way, so a container never exists without its record.
            containerId = await engine.CreateContainerAsync(Specify(request), $"cyagents-{request.ExecutionId}", CancellationToken.None);
        }
        catch (Exception e) when (e is DockerEngineException or HttpRequestException)
        {
            logger.LogError("Launch of {ExecutionId} failed at create: {Error}", request.ExecutionId, e.Message);
            return new ExecutionOutcome(ExecutionStatus.LaunchFailed, null, null, null, _clock.GetUtcNow(), e.Message, []);
        }
        try
        {
            startedAt = _clock.GetUtcNow();
            await engine.StartContainerAsync(containerId, CancellationToken.None);
        }
        catch (Exception e) when (e is DockerEngineException or HttpRequestException)
        {
            logger.LogError("Launch of {ExecutionId} failed at start: {Error}", request.ExecutionId, e.Message);
            await engine.RemoveContainerAsync(containerId, CancellationToken.None);
            return new ExecutionOutcome(ExecutionStatus.LaunchFailed, null, containerId, null, _clock.GetUtcNow(), e.Message, []);
        }
        logger.LogInformation("Started {ExecutionId} of {AgentId} in {ContainerId} with {Bundle}, window {Window}",
            request.ExecutionId, request.AgentId, containerId[..12], request.Bundle, request.Window);

        var timedOut = false;
        var stopped = false;
        // Set when the engine itself went away under the execution: the outcome is the host's fault, not the agent's.
        string? engineLost = null;
        var usage = new CgroupUsage(containerId);
        using var sampling = new CancellationTokenSource();
        var sampler = usage.SampleAsync(TimeSpan.FromMilliseconds(100), sampling.Token);
        using (var window = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            // The debugged agent's window also covers the wait for the attach.
            window.CancelAfter(debug ? request.Window + options.DebuggerWait : request.Window);
            try
            {
                await engine.WaitContainerAsync(containerId, window.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = !ct.IsCancellationRequested;
                stopped = ct.IsCancellationRequested;
                await engine.KillContainerAsync(containerId, "SIGKILL", CancellationToken.None);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await engine.WaitContainerAsync(containerId, grace.Token); }
                catch (OperationCanceledException) { }
            }
            catch (Exception e) when (DockerEngine.IsEngineLost(e))
            {
                engineLost = e.Message;
            }
        }
        var endedAt = _clock.GetUtcNow();
        await sampling.CancelAsync();
        await sampler;

        // From here on the bookkeeping finishes even during shutdown.
        ContainerInspect? inspect = null;
        try { inspect = await engine.InspectContainerAsync(containerId, CancellationToken.None); }
        catch (Exception e) when (DockerEngine.IsEngineLost(e)) { engineLost ??= e.Message; }
        IReadOnlyList<LogLine> logs = [];
        try { logs = await engine.GetLogsAsync(containerId, CancellationToken.None); }
        catch (Exception e) when (e is DockerEngineException || DockerEngine.IsEngineLost(e))
        {
            logger.LogWarning("Logs of {ExecutionId} unavailable: {Error}", request.ExecutionId, e.Message);
        }
        // A daemon that stops kills its containers: a non-zero exit while the engine does not answer is the host's doing.
        if (engineLost is null && !timedOut && !stopped && inspect?.State is { ExitCode: not 0, OOMKilled: false })
        {
            try { await engine.PingAsync(CancellationToken.None); }
            catch (DockerEngineUnavailableException e) { engineLost = e.Message; }
        }

        var state = inspect?.State;
        var exitCode = state?.ExitCode;
        var (status, error) = (timedOut, stopped, state) switch
        {
            _ when engineLost is not null => (ExecutionStatus.HostFault, $"the Docker engine went away while it ran: {engineLost}"),
            (true, _, _) => (ExecutionStatus.TimedOut, $"killed at the end of its {request.Window.TotalSeconds:0.#} s window"),
            (_, true, _) => (ExecutionStatus.Abandoned, "stopped because the orchestrator shut down"),
            (_, _, { OOMKilled: true }) => (ExecutionStatus.OOMKilled, $"killed by the kernel at its memory cap of {request.Bundle.MemoryMiB} MiB"),
            (_, _, { ExitCode: 0 }) => (ExecutionStatus.Succeeded, (string?)null),
            _ => (ExecutionStatus.Failed, $"exited with code {exitCode} (memory cap {request.Bundle.MemoryMiB} MiB)"),
        };
        logger.LogInformation("Execution {ExecutionId} of {AgentId} ended {Status} (exit {ExitCode}) after {Seconds:F2} s; peak memory {PeakMemoryBytes} B, CPU {CpuTimeNanos} ns",
            request.ExecutionId, request.AgentId, status, exitCode, (endedAt - startedAt).TotalSeconds, usage.PeakMemoryBytes, usage.CpuTimeNanos);

        if (OnExited is { } hook && inspect is not null)
            await hook(inspect);
        if (debug)
            logger.LogWarning("Keeping container {ContainerId} of debugged agent {AgentId}; remove it with docker rm", containerId[..12], request.AgentId);
        else
        {
            // With the engine gone the container is removed when it is back (the cycle loop's sweep, or recovery at start).
            try { await engine.RemoveContainerAsync(containerId, CancellationToken.None); }
            catch (Exception e) when (DockerEngine.IsEngineLost(e))
            {
                logger.LogWarning("Container {ContainerId} of {ExecutionId} not removed: {Error}", containerId[..12], request.ExecutionId, e.Message);
            }
        }
        return new ExecutionOutcome(status, exitCode, containerId, startedAt, endedAt, error, logs, usage.PeakMemoryBytes, usage.CpuTimeNanos);
    }
}
