using CyAgents.Orchestrator.Sandbox;

namespace CyAgents.Orchestrator.Tests.Sandbox;

public sealed class CgroupUsageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-cgroup-").FullName;

    [Fact]
    public void Samples_of_a_cgroup_v2_container_keep_the_peak_memory_and_the_latest_cpu_time()
    {
        var scope = Directory.CreateDirectory(Path.Combine(_root, "system.slice", "docker-abc.scope")).FullName;
        var usage = new CgroupUsage("abc", _root);

        File.WriteAllText(Path.Combine(scope, "memory.peak"), "4096\n");
        File.WriteAllText(Path.Combine(scope, "cpu.stat"), "usage_usec 10\nuser_usec 5\n");
        usage.Sample();
        File.WriteAllText(Path.Combine(scope, "memory.peak"), "8192\n");
        File.WriteAllText(Path.Combine(scope, "cpu.stat"), "usage_usec 25\nuser_usec 5\n");
        usage.Sample();
        Directory.Delete(scope, recursive: true); // the container exited: its cgroup is gone
        usage.Sample();

        usage.PeakMemoryBytes.ShouldBe(8192);
        usage.CpuTimeNanos.ShouldBe(25_000);
    }

    [Fact]
    public void An_unknown_layout_gives_no_figures()
    {
        var usage = new CgroupUsage("abc", _root);
        usage.Sample();
        usage.PeakMemoryBytes.ShouldBeNull();
        usage.CpuTimeNanos.ShouldBeNull();
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
