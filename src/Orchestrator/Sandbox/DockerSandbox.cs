using System.Collections.Concurrent;
using System.Globalization;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Resources;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces;
using Microsoft.Extensions.Logging;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>Settings of the Docker sandbox (section <c>Sandbox</c>).</summary>
public sealed record SandboxOptions
{
    public const string Section = "Sandbox";

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
    public string ApiSocketFolder { get; init; } = "";
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
    /// <summary>Output bytes (stdout and stderr together) an execution may leave in the log; the rest is counted and dropped.</summary>
    public long OutputBudgetBytes { get; init; } = 1024 * 1024;
    /// <summary>A longer output line is split into pieces of this many bytes.</summary>
    public int MaxLineBytes { get; init; } = 16 * 1024;
    /// <summary>The engine's own json-file log of a container: size of one file (the engine's units, e.g. 8m) and files kept.</summary>
    public string EngineLogMaxSize { get; init; } = "8m";
    public int EngineLogMaxFiles { get; init; } = 2;
    /// <summary>Size of /dev/shm in bytes.</summary>
    public long ShmSizeBytes { get; init; } = 16 * 1024 * 1024;
    /// <summary>Open files per process (RLIMIT_NOFILE, soft = hard).</summary>
    public long NoFile { get; init; } = 1024;
    /// <summary>Processes of the agent's uid (RLIMIT_NPROC, soft = hard); each agent has its own uid, so this is per agent.</summary>
    public long NProc { get; init; } = 64;
    /// <summary>Between SIGTERM at the end of the window and SIGKILL.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>How often the container's usage (and its workspace's fill) is sampled.</summary>
    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>The host uids agents run as, one per agent (ADR 0071).</summary>
    public UidRange UidRange { get; init; } = new();

    /// <summary>What is wrong, one message per setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (OutputBudgetBytes < 1024) errors.Add($"OutputBudgetBytes must be at least 1024 (got {OutputBudgetBytes})");
        if (MaxLineBytes is < 80 or > 1024 * 1024) errors.Add($"MaxLineBytes must be between 80 and 1048576 (got {MaxLineBytes})");
        if (EngineLogMaxFiles < 1) errors.Add($"EngineLogMaxFiles must be at least 1 (got {EngineLogMaxFiles})");
        if (ShmSizeBytes < 1024 * 1024) errors.Add($"ShmSizeBytes must be at least 1 MiB (got {ShmSizeBytes})");
        if (NoFile < 16) errors.Add($"NoFile must be at least 16 (got {NoFile})");
        if (NProc < 1) errors.Add($"NProc must be at least 1 (got {NProc})");
        if (StopGrace < TimeSpan.Zero) errors.Add($"StopGrace must not be negative (got {StopGrace})");
        errors.AddRange(UidRange.Validate());
        return errors;
    }
}

/// <summary>
/// Runs executions as hardened, network-less containers through the Engine API (ADRs 0001-0003):
/// caps from the won bundle, read-only root, tmpfs /tmp, no capabilities, no new privileges, the agent's own uid (ADR 0071),
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
    /// <summary>On a service's container (value <c>service</c>): it may outlive its execution as a lease (ADR 0137).</summary>
    public const string KindLabel = "cyagents.kind";

    // The containers of service agents kept between the windows they win, by agent (ADR 0137).
    private readonly ConcurrentDictionary<string, ServiceLease> _leases = new(StringComparer.Ordinal);

    /// <summary>Called after the container exited and before it is removed (tests inspect it here).</summary>
    public Func<ContainerInspect, Task>? OnExited { get; set; }

    /// <summary>Called with each line of agent output as it is read, while the container runs (the event stream's hook; must not block).</summary>
    public Action<ExecutionRequest, LogLine>? OnOutput { get; set; }

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
        // The manifest's variables first, never one of the system's names (the manifest reader refuses them already); the
        // system's own follow, so CYAGENTS_* always carry the host's values.
        var env = (request.Program?.Env ?? new Dictionary<string, string>())
            .Where(v => !v.Key.StartsWith("CYAGENTS_", StringComparison.Ordinal) && !v.Key.Contains('='))
            .OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}").ToList();
        if (request.ContextFolder is { } context)
        {
            // The execution's own context, read-only and outside the workspace: the agent can neither redirect nor replace it.
            binds.Add($"{Path.GetFullPath(context)}:{AgentEnvironment.ContainerFolder}:ro");
            env.Add($"{AgentEnvironment.Variable}={AgentEnvironment.ContainerPath}");
        }
        if (debug)
        {
            binds.Add($"{Path.GetFullPath(options.DebuggerFolder)}:/vsdbg:ro");
            env.Add("CYAGENTS_WAIT_FOR_DEBUGGER=1");
            env.Add($"CYAGENTS_DEBUGGER_TIMEOUT_SECONDS={(int)options.DebuggerWait.TotalSeconds}");
        }
        return new ContainerSpec
        {
            Image = request.Program?.Image ?? options.Image,
            // Entrypoint, not Cmd: the manifest's argv is the whole command, whatever entrypoint the image declares.
            Entrypoint = request.Program is { Command.Count: > 0 } program ? program.Command : null,
            User = $"{request.Uid}:{request.Uid}",
            WorkingDir = "/workspace",
            Env = env,
            NetworkDisabled = true,
            Labels = new Dictionary<string, string>
            {
                [ManagedLabel] = options.Instance,
                [AgentLabel] = request.AgentId,
                [ExecutionLabel] = request.ExecutionId,
                [CycleLabel] = request.Cycle.ToString(CultureInfo.InvariantCulture),
                [KindLabel] = request.Service ? "service" : "job",
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
                SecurityOpt = ["no-new-privileges", $"seccomp={SeccompProfile.Json(allowPtrace: debug)}"],
                NetworkMode = "none",
                ShmSize = options.ShmSizeBytes,
                Ulimits = [new Ulimit("nofile", options.NoFile, options.NoFile), new Ulimit("nproc", options.NProc, options.NProc)],
                // The engine's own copy of the output is bounded too (ADR 0072).
                LogConfig = new LogConfig("json-file", new Dictionary<string, string>
                {
                    ["max-size"] = options.EngineLogMaxSize, ["max-file"] = options.EngineLogMaxFiles.ToString(CultureInfo.InvariantCulture),
                }),
            },
        };
    }

    public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
    {
        using (logger.BeginScope(Tags(request, "Orchestrator")))
        {
            // A service that won again runs its new window in the container it holds (ADR 0137); otherwise a fresh container.
            if (request.Service && _leases.TryGetValue(request.AgentId, out var lease))
                return await RenewAsync(lease, request, ct);
            return await RunContainerAsync(request, ct);
        }
    }

    private static Dictionary<string, object> Tags(ExecutionRequest request, string component) => new()
    {
        ["Component"] = component, ["Cycle"] = request.Cycle, ["ExecutionId"] = request.ExecutionId, ["AgentId"] = request.AgentId,
    };

    private async Task<ExecutionOutcome> RunContainerAsync(ExecutionRequest request, CancellationToken ct)
    {
        var debug = request.AgentId == options.DebugAgentId;
        string containerId;
        if (ct.IsCancellationRequested)
            return new ExecutionOutcome(ExecutionStatus.Abandoned, null, null, null, _clock.GetUtcNow(), "not started: the orchestrator is shutting down", []);
        // A service's container may outlive this execution, so it mounts a context folder of the lease's own, which the host
        // rewrites for every window it serves; a job mounts its execution's folder as before.
        var hold = request.Service && !debug;
        string? leaseContext = null;
        try
        {
            if (hold && request.ContextFolder is { } context) leaseContext = LeaseContexts.Open(context, request.ExecutionId);
            // Create and start are quick and not cancelled half-way, so a container never exists without its record.
            containerId = await engine.CreateContainerAsync(Specify(leaseContext is null ? request : request with { ContextFolder = leaseContext }),
                $"cyagents-{request.ExecutionId}", CancellationToken.None);
        }
        catch (Exception e) when (e is DockerEngineException or HttpRequestException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("Launch of {ExecutionId} failed at create: {Error}", request.ExecutionId, e.Message);
            LeaseContexts.Remove(leaseContext);
            return new ExecutionOutcome(ExecutionStatus.LaunchFailed, null, null, null, _clock.GetUtcNow(), e.Message, []);
        }

        DateTimeOffset? startedAt = null;
        var usage = new CgroupUsage(containerId);
        using var sampling = new CancellationTokenSource();
        Task sampler = Task.CompletedTask;
        Task reader = Task.CompletedTask;
        // Not disposed here when the container becomes a lease: the lease keeps reading its output and its events.
        var reading = new CancellationTokenSource();
        var watching = new CancellationTokenSource();
        ServiceLease? leased = null;
        var events = ContainerEvents.None;
        // The agent's lines go to the log as they come, under its own component tag.
        AgentOutput output;
        using (logger.BeginScope(Tags(request, $"Agent:{request.AgentId}")))
            output = new AgentOutput(options.OutputBudgetBytes, options.MaxLineBytes, line =>
            {
                if (line.Stream == "stderr") logger.LogWarning("{Stream}: {Line}", line.Stream, line.Text);
                else logger.LogInformation("{Stream}: {Line}", line.Stream, line.Text);
                // A lease's output belongs to the execution it serves now.
                OnOutput?.Invoke(leased?.Serving ?? request, line);
            });
        var keep = false;
        try
        {
            try
            {
                // The engine's own events tell who stopped the container (ADR 0089); opened before the start, like the output.
                events = await ContainerEvents.WatchAsync(engine, containerId, watching.Token);
                // Attached before the start, so not a byte is missed and nothing waits in a log file (ADR 0072).
                var attached = await engine.AttachAsync(containerId, CancellationToken.None);
                using (logger.BeginScope(Tags(request, $"Agent:{request.AgentId}")))
                    reader = ReadOutputAsync(containerId, attached, output, reading.Token);
                startedAt = _clock.GetUtcNow();
                await engine.StartContainerAsync(containerId, CancellationToken.None);
            }
            catch (Exception e) when (e is DockerEngineException or HttpRequestException)
            {
                logger.LogError("Launch of {ExecutionId} failed at start: {Error}", request.ExecutionId, e.Message);
                return new ExecutionOutcome(ExecutionStatus.LaunchFailed, null, containerId, null, _clock.GetUtcNow(), e.Message, []);
            }
            logger.LogInformation("Started {ExecutionId} of {AgentId} in {ContainerId} with {Bundle}, window {Window}",
                request.ExecutionId, request.AgentId, containerId[..Math.Min(12, containerId.Length)], request.Bundle, request.Window);

            sampler = usage.SampleAsync(options.SampleEvery, sampling.Token);
            var quota = request.WorkspaceQuotaBytes is { } bytes ? WatchQuotaAsync(containerId, request.Workspace, bytes, sampling.Token) : Task.FromResult<string?>(null);

            var (timedOut, stopped, held) = await WaitWithinWindowAsync(containerId, request, debug, hold, ct);
            var endedAt = _clock.GetUtcNow();
            if (held)
            {
                await StopSamplingAsync(sampling, sampler);
                leased = new ServiceLease
                {
                    AgentId = request.AgentId, ContainerId = containerId, ExecutionId = request.ExecutionId, Bundle = request.Bundle,
                    ContextFolder = leaseContext, Output = output, Reader = reader, Reading = reading, Events = events, Watching = watching,
                    CpuNanosBefore = usage.CpuTimeNanos ?? 0, StartedAt = startedAt.Value,
                };
                _leases[request.AgentId] = leased;
                return Held(leased, request, startedAt.Value, endedAt, usage);
            }
            // The kill and die events are a separate stream: give it a moment to catch up with the wait's answer.
            if (!timedOut && !stopped) await events.SettleAsync(TimeSpan.FromSeconds(2));
            await StopSamplingAsync(sampling, sampler);
            // Filled to the brim at the exit counts too: the agent may have given up on ENOSPC before the next sample.
            var quotaReason = await quota ?? (request.WorkspaceQuotaBytes is { } q ? Exhausted(request.Workspace, q) : null);
            // The output stream ends when the container stops; a stuck engine stream is cut after a short wait.
            reading.CancelAfter(TimeSpan.FromSeconds(5));
            await reader;
            if (output.BytesDropped > 0)
                logger.LogWarning("Output of {ExecutionId} truncated: {DroppedBytes} bytes dropped beyond its budget of {BudgetBytes} bytes ({ReadBytes} bytes printed)",
                    request.ExecutionId, output.BytesDropped, options.OutputBudgetBytes, output.BytesRead);

            // From here on the bookkeeping finishes even during shutdown.
            var inspect = await engine.InspectContainerAsync(containerId, CancellationToken.None);
            var state = inspect?.State;
            var exitCode = state?.ExitCode;
            // A daemon that stops kills its containers: a non-zero exit while the engine does not answer is the host's doing.
            string? engineLost = events.CutBeforeDeath;
            // Nothing of ours signals a container before its window ends (the quota's kill has its own status), so a kill the
            // engine reports was the host's: a daemon shutting down stops every container, and an agent may exit 0 on it.
            var killedByHost = !timedOut && !stopped && quotaReason is null && events.Kills.Count > 0
                ? $"stopped from the host's side (signal {string.Join(", then ", events.Kills)} from the engine, e.g. a daemon shutting down), exit {exitCode}"
                : null;
            if (engineLost is null && !timedOut && !stopped && state is { ExitCode: not 0, OOMKilled: false })
            {
                try { await engine.PingAsync(CancellationToken.None); }
                catch (DockerEngineUnavailableException e) { engineLost = e.Message; }
            }
            var (status, error) = (timedOut, stopped, state) switch
            {
                _ when engineLost is not null => (ExecutionStatus.HostFault, $"the Docker engine went away while it ran: {engineLost}"),
                _ when quotaReason is not null => (ExecutionStatus.QuotaExceeded, quotaReason),
                _ when killedByHost is not null => (ExecutionStatus.HostFault, killedByHost),
                (true, _, _) => (ExecutionStatus.TimedOut, $"stopped at the end of its {request.Window.TotalSeconds:0.#} s window"),
                (_, true, _) => (ExecutionStatus.Abandoned, "stopped because the orchestrator shut down"),
                (_, _, { OOMKilled: true }) => (ExecutionStatus.OOMKilled, $"killed by the kernel at its memory cap of {request.Bundle.MemoryMiB} MiB"),
                (_, _, { ExitCode: 0 }) => (ExecutionStatus.Succeeded, (string?)null),
                _ => (ExecutionStatus.Failed, $"exited with code {exitCode} (memory cap {request.Bundle.MemoryMiB} MiB)"),
            };
            logger.LogInformation("Execution {ExecutionId} of {AgentId} ended {Status} (exit {ExitCode}) after {Seconds:F2} s; peak memory {PeakMemoryBytes} B, CPU {CpuTimeNanos} ns",
                request.ExecutionId, request.AgentId, status, exitCode, (endedAt - startedAt.Value).TotalSeconds, usage.PeakMemoryBytes, usage.CpuTimeNanos);

            if (OnExited is { } hook && inspect is not null)
                await hook(inspect);
            keep = debug;
            if (debug)
                logger.LogWarning("Keeping container {ContainerId} of debugged agent {AgentId}; remove it with docker rm", containerId[..12], request.AgentId);
            return new ExecutionOutcome(status, exitCode, containerId, startedAt, endedAt, error, output.Lines, usage.PeakMemoryBytes, usage.CpuTimeNanos)
            {
                OutputBytesDropped = output.BytesDropped,
            };
        }
        catch (Exception e) when (e is DockerEngineException || DockerEngine.IsEngineLost(e))
        {
            // The engine failed mid-run: the finally below leaves nothing behind; the record says what happened. An engine
            // that went away (socket gone, wait stream cut) is the host's fault: HostFault, refunded and re-entered (ADR 0089).
            logger.LogError("Execution {ExecutionId} of {AgentId} lost its engine: {Error}", request.ExecutionId, request.AgentId, e.Message);
            var (status, error) = DockerEngine.IsEngineLost(e)
                ? (ExecutionStatus.HostFault, $"the Docker engine went away while it ran: {e.Message}")
                : (ExecutionStatus.Failed, $"the engine failed during the run: {e.Message}");
            return new ExecutionOutcome(status, null, containerId, startedAt, _clock.GetUtcNow(), error,
                output.Lines, usage.PeakMemoryBytes, usage.CpuTimeNanos) { OutputBytesDropped = output.BytesDropped };
        }
        finally
        {
            // Whatever happened above: no sampler, no reader and (unless kept for the debugger or held as a lease) no container
            // outlives the run.
            await StopSamplingAsync(sampling, sampler);
            if (leased is null)
            {
                await watching.CancelAsync();
                await events.StopAsync();
                await reading.CancelAsync();
                try { await reader; } catch (Exception) { /* already logged by the reader */ }
                if (!keep) await RemoveQuietlyAsync(containerId, request.ExecutionId);
                LeaseContexts.Remove(leaseContext);
                reading.Dispose();
                watching.Dispose();
            }
        }
    }

    /// <summary>
    /// Waits for the exit; at the window's end SIGTERM, then SIGKILL after the grace — unless <paramref name="hold"/> (a
    /// service): then the container keeps running and the answer says Held. Shutdown always stops it.
    /// </summary>
    private async Task<(bool TimedOut, bool Stopped, bool Held)> WaitWithinWindowAsync(string containerId, ExecutionRequest request, bool debug,
        bool hold, CancellationToken ct)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // The debugged agent's window also covers the wait for the attach.
        window.CancelAfter(debug ? request.Window + options.DebuggerWait : request.Window);
        try
        {
            await engine.WaitContainerAsync(containerId, window.Token);
            return (false, false, false);
        }
        catch (OperationCanceledException)
        {
        }
        var stopped = ct.IsCancellationRequested;
        if (hold && !stopped) return (false, false, true);
        await StopWithGraceAsync(containerId);
        return (!stopped, stopped, false);
    }

    /// <summary>SIGTERM, then SIGKILL when it has not exited after <see cref="SandboxOptions.StopGrace"/>; returns when it stopped.</summary>
    private async Task StopWithGraceAsync(string containerId)
    {
        await engine.KillContainerAsync(containerId, "SIGTERM", CancellationToken.None);
        using (var grace = new CancellationTokenSource(options.StopGrace))
        {
            try
            {
                await engine.WaitContainerAsync(containerId, grace.Token);
                return;
            }
            catch (OperationCanceledException) { }
        }
        await engine.KillContainerAsync(containerId, "SIGKILL", CancellationToken.None);
        using (var after = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try { await engine.WaitContainerAsync(containerId, after.Token); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>Samples the workspace's file system (statvfs: constant work); when it is full, stops the container and says why.</summary>
    private async Task<string?> WatchQuotaAsync(string containerId, string workspace, long quotaBytes, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (Exhausted(workspace, quotaBytes) is { } reason)
                {
                    await engine.KillContainerAsync(containerId, "SIGKILL", CancellationToken.None);
                    return reason;
                }
                await Task.Delay(options.SampleEvery, ct);
            }
        }
        catch (OperationCanceledException) { }
        return null;
    }

    /// <summary>
    /// Why the workspace counts as full, or null: no inode left, or less free than max(512 KiB, 1/32 of the quota) — ext4
    /// keeps a few percent for its own allocations, so an unprivileged writer meets ENOSPC with that much still shown free.
    /// </summary>
    private static string? Exhausted(string workspace, long quotaBytes) =>
        Workspaces.WorkspaceQuota.Free(workspace) switch
        {
            { } f when f.FreeBytes < Math.Max(512 * 1024, quotaBytes / 32) => $"filled its workspace quota of {quotaBytes / 1048576} MiB ({f.FreeBytes} bytes left) and was stopped",
            { FreeInodes: < 1 } => $"used every file its workspace quota allows (quota {quotaBytes / 1048576} MiB) and was stopped",
            _ => null,
        };

    private async Task ReadOutputAsync(string containerId, Stream attached, AgentOutput output, CancellationToken ct)
    {
        try
        {
            await using var stream = attached;
            await output.ReadAsync(stream, ct);
        }
        catch (OperationCanceledException) { output.Flush(); }
        catch (Exception e) when (e is DockerEngineException or HttpRequestException or IOException)
        {
            output.Flush();
            logger.LogWarning("Output of {ContainerId} could not be read to its end: {Error}", containerId[..Math.Min(12, containerId.Length)], e.Message);
        }
    }

    private static async Task StopSamplingAsync(CancellationTokenSource sampling, Task sampler)
    {
        if (!sampling.IsCancellationRequested) await sampling.CancelAsync();
        await sampler;
    }

    private async Task RemoveQuietlyAsync(string containerId, string executionId)
    {
        try
        {
            await engine.KillContainerAsync(containerId, "SIGKILL", CancellationToken.None);
            await engine.RemoveContainerAsync(containerId, CancellationToken.None);
        }
        catch (Exception e) when (e is DockerEngineException or HttpRequestException)
        {
            // Crash recovery removes it by its label at the next start.
            logger.LogError("Container {ContainerId} of {ExecutionId} could not be removed: {Error}", containerId[..Math.Min(12, containerId.Length)], executionId, e.Message);
        }
    }

    /// <summary>The leases held now (service containers running between or across windows), ordered by agent.</summary>
    public IReadOnlyList<LeaseView> Leases =>
        _leases.Values.OrderBy(l => l.AgentId, StringComparer.Ordinal)
            .Select(l => new LeaseView(l.AgentId, l.ContainerId, l.ExecutionId, l.Bundle)).ToList();

    /// <summary>
    /// Applies a lease's next bundle to its running container in place (CPU, memory and swap, pids). Throws
    /// <see cref="DockerEngineException"/> when the engine refuses — a memory cap below what the container uses now; the
    /// lease is unchanged then and the caller decides (<see cref="Cycles.ServiceLeases"/> preempts it).
    /// </summary>
    public async Task ResizeAsync(string agentId, ResourceBundle bundle, CancellationToken ct)
    {
        var lease = _leases.GetValueOrDefault(agentId) ?? throw new InvalidOperationException($"{agentId} holds no lease");
        var memory = bundle.MemoryMiB * 1024 * 1024;
        await engine.UpdateContainerAsync(lease.ContainerId, new ContainerUpdate(bundle.CpuMillicores * 1_000_000, memory, memory, options.PidsLimit), ct);
        logger.LogInformation("Lease of {AgentId} in {ContainerId} resized in place from {From} to {To}", agentId, Short(lease.ContainerId), lease.Bundle, bundle);
        lease.Bundle = bundle;
    }

    /// <summary>
    /// Ends a lease whose container exited on its own between windows: collects its exit and output and removes it. Returns
    /// null while the container still runs (the lease stands) or when the agent holds no lease.
    /// </summary>
    public async Task<ExecutionOutcome?> EndIfExitedAsync(string agentId, CancellationToken ct)
    {
        if (!_leases.TryGetValue(agentId, out var lease)) return null;
        var inspect = await engine.InspectContainerAsync(lease.ContainerId, ct);
        if (inspect?.State is { Running: true }) return null;
        if (!_leases.TryRemove(agentId, out lease)) return null;
        var state = inspect?.State;
        var (status, error) = state switch
        {
            null => (ExecutionStatus.HostFault, "its container disappeared between windows"),
            { OOMKilled: true } => (ExecutionStatus.OOMKilled, $"killed by the kernel at its memory cap of {lease.Bundle.MemoryMiB} MiB between windows"),
            { ExitCode: 0 } => (ExecutionStatus.Succeeded, "exited between windows"),
            _ => (ExecutionStatus.Failed, $"exited with code {state.ExitCode} between windows"),
        };
        return await CloseAsync(lease, status, error, state?.ExitCode);
    }

    /// <summary>
    /// Preempts a lease (its agent lost, or the host stops): SIGTERM, SIGKILL after <see cref="SandboxOptions.StopGrace"/>,
    /// then its output is collected and the container and its context folder removed. Null when the agent holds no lease.
    /// </summary>
    public async Task<ExecutionOutcome?> PreemptAsync(string agentId, string reason)
    {
        if (!_leases.TryRemove(agentId, out var lease)) return null;
        var preempted = _clock.GetUtcNow();
        try
        {
            await StopWithGraceAsync(lease.ContainerId);
            var state = (await engine.InspectContainerAsync(lease.ContainerId, CancellationToken.None))?.State;
            logger.LogInformation("Lease of {AgentId} in {ContainerId} preempted ({Reason}) after {Seconds:F2} s, exit {ExitCode}",
                agentId, Short(lease.ContainerId), reason, (_clock.GetUtcNow() - preempted).TotalSeconds, state?.ExitCode);
            return await CloseAsync(lease, ExecutionStatus.Preempted, reason, state?.ExitCode);
        }
        catch (Exception e) when (e is DockerEngineException || DockerEngine.IsEngineLost(e))
        {
            logger.LogError("Lease of {AgentId} in {ContainerId} could not be stopped cleanly: {Error}", agentId, Short(lease.ContainerId), e.Message);
            return await CloseAsync(lease, ExecutionStatus.Preempted, $"{reason}; the engine failed while stopping it: {e.Message}", null);
        }
    }

    /// <summary>A new window in the container a service holds: its context is replaced, then it runs on as in any window.</summary>
    private async Task<ExecutionOutcome> RenewAsync(ServiceLease lease, ExecutionRequest request, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
            return new ExecutionOutcome(ExecutionStatus.Abandoned, null, lease.ContainerId, null, _clock.GetUtcNow(), "not started: the orchestrator is shutting down", []);
        lease.ExecutionId = request.ExecutionId;
        lease.Serving = request;
        try
        {
            if (lease.ContextFolder is { } folder && request.ContextFolder is { } context) LeaseContexts.Refresh(folder, context);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or UnsafeWorkspaceEntryException)
        {
            // Without its new token the service cannot use the API in this window: stop it, and the host's fault is refunded.
            _leases.TryRemove(request.AgentId, out _);
            await StopWithGraceAsync(lease.ContainerId);
            return await CloseAsync(lease, ExecutionStatus.LaunchFailed, $"its new context could not be delivered to the lease: {e.Message}", null);
        }
        var startedAt = _clock.GetUtcNow();
        logger.LogInformation("Lease of {AgentId} in {ContainerId} serves {ExecutionId} with {Bundle}, window {Window}",
            request.AgentId, Short(lease.ContainerId), request.ExecutionId, request.Bundle, request.Window);
        var usage = new CgroupUsage(lease.ContainerId);
        using var sampling = new CancellationTokenSource();
        var sampler = usage.SampleAsync(options.SampleEvery, sampling.Token);
        var quota = request.WorkspaceQuotaBytes is { } bytes ? WatchQuotaAsync(lease.ContainerId, request.Workspace, bytes, sampling.Token) : Task.FromResult<string?>(null);
        var killsBefore = lease.Events.Kills.Count;
        try
        {
            var (_, stopped, held) = await WaitWithinWindowAsync(lease.ContainerId, request, debug: false, hold: true, ct);
            var endedAt = _clock.GetUtcNow();
            await StopSamplingAsync(sampling, sampler);
            if (held) return Held(lease, request, startedAt, endedAt, usage) with { InRunningLease = true };
            // It ended within this window (on its own, by its quota, or stopped by shutdown): the lease ends with it.
            _leases.TryRemove(request.AgentId, out _);
            var quotaReason = await quota;
            if (!stopped) await lease.Events.SettleAsync(TimeSpan.FromSeconds(2));
            var state = (await engine.InspectContainerAsync(lease.ContainerId, CancellationToken.None))?.State;
            var (status, error) = state switch
            {
                _ when lease.Events.CutBeforeDeath is { } cut => (ExecutionStatus.HostFault, $"the Docker engine went away while it ran: {cut}"),
                _ when quotaReason is not null => (ExecutionStatus.QuotaExceeded, quotaReason),
                _ when stopped => (ExecutionStatus.Abandoned, "stopped because the orchestrator shut down"),
                _ when lease.Events.Kills.Count > killsBefore =>
                    (ExecutionStatus.HostFault, $"stopped from the host's side (signal {string.Join(", then ", lease.Events.Kills.Skip(killsBefore))} from the engine), exit {state?.ExitCode}"),
                { OOMKilled: true } => (ExecutionStatus.OOMKilled, $"killed by the kernel at its memory cap of {request.Bundle.MemoryMiB} MiB"),
                { ExitCode: 0 } => (ExecutionStatus.Succeeded, (string?)null),
                _ => (ExecutionStatus.Failed, $"exited with code {state?.ExitCode} (memory cap {request.Bundle.MemoryMiB} MiB)"),
            };
            var outcome = await CloseAsync(lease, status, error, state?.ExitCode, usage);
            return outcome with { StartedAt = startedAt, EndedAt = endedAt, InRunningLease = true };
        }
        catch (Exception e) when (e is DockerEngineException || DockerEngine.IsEngineLost(e))
        {
            await StopSamplingAsync(sampling, sampler);
            _leases.TryRemove(request.AgentId, out _);
            logger.LogError("Lease of {AgentId} lost its engine in {ExecutionId}: {Error}", request.AgentId, request.ExecutionId, e.Message);
            var status = DockerEngine.IsEngineLost(e) ? ExecutionStatus.HostFault : ExecutionStatus.Failed;
            return await CloseAsync(lease, status, $"the engine failed during the run: {e.Message}", null, usage);
        }
    }

    /// <summary>The outcome of a window that ended with the container held: the window's output, its CPU time and the peak so far.</summary>
    private ExecutionOutcome Held(ServiceLease lease, ExecutionRequest request, DateTimeOffset startedAt, DateTimeOffset endedAt, CgroupUsage usage)
    {
        var (lines, dropped) = lease.Output.TakeWindow();
        var cpu = usage.CpuTimeNanos is { } total ? total - lease.CpuNanosBefore : (long?)null;
        lease.CpuNanosBefore = usage.CpuTimeNanos ?? lease.CpuNanosBefore;
        logger.LogInformation("Window of {ExecutionId} ended; {AgentId}'s container {ContainerId} runs on as its lease", request.ExecutionId,
            request.AgentId, Short(lease.ContainerId));
        return new ExecutionOutcome(ExecutionStatus.Leased, null, lease.ContainerId, startedAt, endedAt,
            "its window ended with the service still running: the container is held for the agent's next win", lines, usage.PeakMemoryBytes, cpu)
        {
            OutputBytesDropped = dropped,
        };
    }

    /// <summary>Collects the rest of a lease's output, stops watching it, removes its container and context folder.</summary>
    private async Task<ExecutionOutcome> CloseAsync(ServiceLease lease, ExecutionStatus status, string? error, int? exitCode, CgroupUsage? usage = null)
    {
        // The output stream ends when the container stops; a stuck engine stream is cut after a short wait.
        lease.Reading.CancelAfter(TimeSpan.FromSeconds(5));
        try { await lease.Reader; } catch (Exception) { /* already logged by the reader */ }
        await lease.Watching.CancelAsync();
        await lease.Events.StopAsync();
        var (lines, dropped) = lease.Output.TakeWindow();
        await RemoveQuietlyAsync(lease.ContainerId, lease.ExecutionId);
        LeaseContexts.Remove(lease.ContextFolder);
        lease.Reading.Dispose();
        lease.Watching.Dispose();
        var cpu = usage?.CpuTimeNanos is { } total ? total - lease.CpuNanosBefore : (long?)null;
        return new ExecutionOutcome(status, exitCode, lease.ContainerId, null, _clock.GetUtcNow(), error, lines, usage?.PeakMemoryBytes, cpu)
        {
            OutputBytesDropped = dropped,
        };
    }

    private static string Short(string containerId) => containerId[..Math.Min(12, containerId.Length)];
}
