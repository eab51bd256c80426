namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// Peak memory and CPU time of a running container, read from its cgroup on the host. The engine forgets both once
/// the container exits (its cgroup goes with it), so they are sampled while it runs; the counters only grow, so the
/// last sample is the best figure. Cheap file reads, no engine calls. Unknown layouts give nulls.
/// </summary>
public sealed class CgroupUsage(string containerId, string root = "/sys/fs/cgroup")
{
    public long? PeakMemoryBytes { get; private set; }
    public long? CpuTimeNanos { get; private set; }

    /// <summary>Samples until <paramref name="ct"/> fires.</summary>
    public async Task SampleAsync(TimeSpan every, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                Sample();
                await Task.Delay(every, ct);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>One reading (cgroup v1 with the cgroupfs driver, else v2 with systemd or cgroupfs).</summary>
    public void Sample()
    {
        var memory = Read($"{root}/memory/docker/{containerId}/memory.max_usage_in_bytes")
                     ?? Read($"{root}/system.slice/docker-{containerId}.scope/memory.peak")
                     ?? Read($"{root}/docker/{containerId}/memory.peak");
        var cpu = Read($"{root}/cpuacct/docker/{containerId}/cpuacct.usage")
                  ?? CpuStatNanos($"{root}/system.slice/docker-{containerId}.scope/cpu.stat")
                  ?? CpuStatNanos($"{root}/docker/{containerId}/cpu.stat");
        if (memory is { } m) PeakMemoryBytes = Math.Max(PeakMemoryBytes ?? 0, m);
        if (cpu is { } c) CpuTimeNanos = Math.Max(CpuTimeNanos ?? 0, c);
    }

    private static long? Read(string path)
    {
        try { return long.TryParse(File.ReadAllText(path).Trim(), out var value) ? value : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static long? CpuStatNanos(string path)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
                if (line.StartsWith("usage_usec ", StringComparison.Ordinal) && long.TryParse(line[11..], out var micros))
                    return micros * 1000;
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
