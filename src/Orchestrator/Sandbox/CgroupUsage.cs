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

    // The layout is found on the first reading that answers; later samples read that file only, instead of failing
    // (and throwing) on the other layouts every 100 ms.
    private readonly string[] _memoryFiles =
    [
        $"{root}/memory/docker/{containerId}/memory.max_usage_in_bytes",
        $"{root}/system.slice/docker-{containerId}.scope/memory.peak",
        $"{root}/docker/{containerId}/memory.peak",
    ];
    private readonly string[] _cpuFiles =
    [
        $"{root}/cpuacct/docker/{containerId}/cpuacct.usage",
        $"{root}/system.slice/docker-{containerId}.scope/cpu.stat",
        $"{root}/docker/{containerId}/cpu.stat",
    ];
    private string? _memoryFile;
    private string? _cpuFile;

    /// <summary>One reading (cgroup v1 with the cgroupfs driver, else v2 with systemd or cgroupfs).</summary>
    public void Sample()
    {
        var memory = ReadFirst(ref _memoryFile, _memoryFiles, Read);
        var cpu = ReadFirst(ref _cpuFile, _cpuFiles, CpuNanos);
        if (memory is { } m) PeakMemoryBytes = Math.Max(PeakMemoryBytes ?? 0, m);
        if (cpu is { } c) CpuTimeNanos = Math.Max(CpuTimeNanos ?? 0, c);
    }

    private static long? ReadFirst(ref string? known, string[] candidates, Func<string, long?> read)
    {
        if (known is not null) return read(known);
        foreach (var file in candidates)
        {
            if (read(file) is { } value)
            {
                known = file;
                return value;
            }
        }
        return null;
    }

    private static long? CpuNanos(string path) => path.EndsWith("cpu.stat", StringComparison.Ordinal) ? CpuStatNanos(path) : Read(path);

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
