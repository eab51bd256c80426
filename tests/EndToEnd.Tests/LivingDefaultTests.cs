using System.Diagnostics;
using System.Text.Json;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Tasks;
using CyAgents.Orchestrator.Tests.Faults;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// Issue 12's end-to-end acceptance (ADR 0141): `scripts/run --cycles 30` with the shipped defaults — the script itself, so
/// its living default is what is tested — on the real engine, only the data and workspaces folders moved to a temporary
/// one (and the human's TCP listener off, so it cannot collide with a run on port 5080). It completes, pays at least one
/// task, earns revenue in some cycle, uses more than half the CPU supply in some cycle, spawns, and conserves credits in
/// every cycle. The figures are judged from system.log, cross-checked in the database, and printed.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class LivingDefaultTests(DockerFixture docker, ITestOutputHelper output)
{
    [Fact]
    public async Task Scripts_run_with_the_shipped_defaults_for_30_cycles_pays_a_task_earns_uses_the_cpu_spawns_and_conserves()
    {
        var source = AgentImage.FindSourceRoot();
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "living-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var data = Path.Combine(root, "data");
        var workspaces = Path.Combine(root, "workspaces");
        CopyTemplates(Path.Combine(source, "workspaces"), workspaces);

        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = source, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            ArgumentList = { Path.Combine(source, "scripts", "run"), "--cycles", "30", "--data", data, "--workspaces", workspaces, "--api-urls", "", "--quiet" },
        };
        // The script runs the cyagents this test project built instead of building its own (see scripts/run).
        start.Environment["CYAGENTS_CLI"] = Path.Combine(AppContext.BaseDirectory, "cyagents.dll");
        var clock = Stopwatch.StartNew();
        using var run = Process.Start(start)!;
        var stdout = run.StandardOutput.ReadToEndAsync();
        var stderr = run.StandardError.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(25)))
        {
            try { await run.WaitForExitAsync(limit.Token); }
            catch (OperationCanceledException)
            {
                run.Kill(entireProcessTree: true);
                throw new TimeoutException("scripts/run --cycles 30 did not finish in 25 minutes:\n" + await stderr);
            }
        }
        var console = await stdout + await stderr;
        run.ExitCode.ShouldBe(0, console);
        console.ShouldContain("task feed: 5 of 5 tasks posted");
        console.ShouldContain("starters: 3 of 3 created");

        // The figures, from system.log: one "Cycle N cleared" line per cycle with revenue and utilization, one "completed" line.
        var cleared = new List<(long Cycle, long Revenue, double Cpu, int Winners)>();
        var completed = new List<long>();
        foreach (var line in await File.ReadAllLinesAsync(Path.Combine(data, "system.log")))
        {
            if (!line.StartsWith('{')) continue;
            using var json = JsonDocument.Parse(line);
            if (!json.RootElement.TryGetProperty("Properties", out var p)) continue;
            if (p.TryGetProperty("CpuUtilization", out var cpu) && p.TryGetProperty("Revenue", out var revenue))
                cleared.Add((p.GetProperty("Cycle").GetInt64(), revenue.GetInt64(), cpu.GetDouble(), p.GetProperty("Winners").GetInt32()));
            if (json.RootElement.TryGetProperty("MessageTemplate", out var template) && template.GetString()!.Contains("invariant holds"))
                completed.Add(p.GetProperty("Cycle").GetInt64());
        }

        await using var db = new CyAgentsDbContext(DatabaseOptions.ForSqliteFile(Path.Combine(data, "cyagents.db")).BuildOptions());
        var cycles = await db.Set<CycleRecord>().OrderBy(c => c.Number).ToListAsync();
        var tasks = await db.Set<TaskRecord>().OrderBy(t => t.Id).ToListAsync();
        var rewards = await db.Set<LedgerTransferRecord>().Where(t => t.Kind == TransferKind.TaskReward && t.State == TransferState.Posted).ToListAsync();
        var agents = (await db.Set<AgentRecord>().ToListAsync()).OrderBy(a => a.CreatedAt).ThenBy(a => a.Id).ToList();
        var spawned = agents.Where(a => a.ParentId != null).ToList();
        var cpuRows = await db.Set<MarketStateRecord>().Where(m => m.Kind == Economy.Resources.ResourceKind.Cpu).ToDictionaryAsync(m => m.Cycle);
        var audit = await LedgerAudit.RunAsync(Path.Combine(data, "cyagents.db"));

        output.WriteLine($"scripts/run --cycles 30 took {clock.Elapsed.TotalSeconds:F0} s; load average {LoadAverage()}");
        output.WriteLine("cycle  winners  revenue  cpu utilization  invariant");
        foreach (var c in cycles)
            output.WriteLine($"{c.Number,5}  {c.WinnerCount,7}  {c.Revenue,7}  {(cpuRows.TryGetValue(c.Number, out var m) ? m.Utilization : double.NaN),15:P1}  {c.InvariantHeld}");
        foreach (var t in tasks)
            output.WriteLine($"task {t.Id}: {t.State}, reward {t.Reward}, winner {t.WinnerAgentId ?? "-"}");
        output.WriteLine($"agents {agents.Count} ({string.Join(", ", agents.Select(a => a.Name))}), spawned {spawned.Count}; " +
                         $"revenue total {cycles.Sum(c => c.Revenue)}, max {cycles.Max(c => c.Revenue)}; " +
                         $"cpu utilization max {cleared.Max(c => c.Cpu):P1}; tasks paid {rewards.Count} ({rewards.Sum(r => r.Amount)} credits)");

        // Completes: 30 cycles, each cleared and completed with the invariant holding.
        cycles.Count.ShouldBe(30);
        cycles.ShouldAllBe(c => c.Status == CycleStatus.Completed && c.InvariantHeld == true);
        cleared.Select(c => c.Cycle).ShouldBe(Enumerable.Range(1, 30).Select(i => (long)i), "one cleared line per cycle in system.log");
        completed.ShouldBe(Enumerable.Range(1, 30).Select(i => (long)i), "conservation reported holding after every cycle in system.log");
        audit.ShouldBeEmpty("the independent ledger audit (balances recomputed from ledger_transfers)");
        // Pays at least one task, by a ledger transfer of its own kind to an agent that did the work.
        rewards.ShouldNotBeEmpty(string.Join("; ", tasks.Select(t => $"{t.Id} {t.State}")));
        tasks.Count(t => t.State == TaskState.Awarded).ShouldBe(rewards.Count);
        // Revenue above 0 and CPU utilization above 50 % in some cycle; the database says the same as the log.
        cleared.Max(c => c.Revenue).ShouldBeGreaterThan(0);
        cleared.Max(c => c.Cpu).ShouldBeGreaterThan(0.5);
        cleared.ShouldAllBe(c => cycles[(int)c.Cycle - 1].Revenue == c.Revenue && Math.Abs(cpuRows[c.Cycle].Utilization - c.Cpu) < 1e-3);
        // At least one spawn.
        spawned.ShouldNotBeEmpty();
        // Nothing of the run is left on the engine.
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(Path.Combine(data, "cyagents.db"))))).ShouldBeEmpty();
    }

    /// <summary>The repository's template folders (genesis, python-agent, …), as `run` finds them under its workspaces folder.</summary>
    private static void CopyTemplates(string from, string to)
    {
        foreach (var folder in Directory.EnumerateDirectories(from))
        {
            var target = Directory.CreateDirectory(Path.Combine(to, Path.GetFileName(folder))).FullName;
            foreach (var file in Directory.EnumerateFiles(folder)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
