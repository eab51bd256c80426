using System.Collections.Concurrent;
using System.CommandLine;
using System.Text.Json;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `bench` verb: live-cycle figures on the real engine (launch latency, cycle wall time).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var winners = new Option<int>("--winners") { Description = "Agents that win (and run) every cycle.", DefaultValueFactory = _ => 10 };
        var cycles = new Option<int>("--cycles") { Description = "Cycles to measure (after one warm-up cycle).", DefaultValueFactory = _ => 5 };
        var cpu = new Option<long>("--cpu") { Description = "CPU millicores each agent bids for (winners x cpu must fit the host).", DefaultValueFactory = _ => 200 };
        var memory = new Option<long>("--memory") { Description = "Memory MiB each agent bids for.", DefaultValueFactory = _ => 96 };
        var command = new Command("bench", """
            Measures live cycles on the real Docker engine in a throw-away data folder: the time from launching a winner
            (container create) to its first System API call, and the wall time of whole cycles in which every winner
            reads prices and balance, bids and exits. Prints medians and 90th percentiles.
            Examples: bench --winners 1 --cycles 20 --cpu 1000    bench --winners 10 --cycles 5 --cpu 200
            """)
        {
            winners, cycles, cpu, memory,
        };
        command.SetAction(async (parse, ct) =>
        {
            var (w, c, cpuEach, memEach) = (parse.GetValue(winners), parse.GetValue(cycles), parse.GetValue(cpu), parse.GetValue(memory));
            if (w < 1 || c < 1 || cpuEach < 1 || memEach < 16)
            {
                Console.Error.WriteLine("cyagents bench: --winners, --cycles, --cpu must be >= 1 and --memory >= 16.");
                return ExitCodes.Usage;
            }
            try
            {
                return await RunAsync(w, c, cpuEach, memEach, ct);
            }
            catch (DockerEngineUnavailableException e)
            {
                Console.Error.WriteLine($"cyagents bench: {e.Message}");
                return ExitCodes.EngineUnavailable;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(int winners, int cycles, long cpu, long memory, CancellationToken ct)
    {
        var root = Directory.CreateTempSubdirectory("cyagents-bench-").FullName;
        var template = Directory.CreateDirectory(Path.Combine(root, "workspaces", "genesis")).FullName;
        var bundle = new { cpuMillicores = cpu, memoryMiB = memory, tokens = 0, attentionBasisPoints = 0 };
        await File.WriteAllTextAsync(Path.Combine(template, "strategy.json"),
            JsonSerializer.Serialize(new { bidFraction = 0.001, minBid = 1, bundle, spawnThreshold = (long?)null }), ct);
        var launched = new ConcurrentDictionary<string, DateTimeOffset>();
        var firstCall = new ConcurrentDictionary<string, DateTimeOffset>();
        var settings = new LiveSettings
        {
            DataDirectory = Path.Combine(root, "data"),
            WorkspacesRoot = Path.Combine(root, "workspaces"),
            WorkspaceTemplate = template,
            ApiUrls = "",
            ConsoleLog = false,
            Live = new LiveOptions
            {
                ExecutionWindow = TimeSpan.FromSeconds(30),
                Capacity = new CapacityOptions { ReserveMillicores = 0, ReserveMemoryMiB = 1024 },
                Genesis = new GenesisOptions { Endowment = 1_000_000, FirstBidAmount = 10, FirstBidCpuMillicores = cpu, FirstBidMemoryMiB = memory },
            },
            SandboxDecorator = inner => new TimedSandbox(inner, launched),
            OnAgentRequest = (execution, at) => firstCall.TryAdd(execution, at),
        };
        try
        {
            await using var economy = await LiveEconomy.StartAsync(settings, ct);
            if (economy.Cycle.Supply.CpuMillicores < winners * cpu)
            {
                Console.Error.WriteLine($"cyagents bench: {winners} x {cpu}m does not fit the supply of {economy.Cycle.Supply.CpuMillicores}m; lower --cpu.");
                return ExitCodes.Usage;
            }
            await AddAgentsAsync(economy, winners - 1, ct);
            await economy.RunCyclesAsync(1, TimeSpan.Zero, ct); // warm-up: first launches, SQLite pages, JIT of the host
            launched.Clear();
            firstCall.Clear();
            var reports = await economy.RunCyclesAsync(cycles, TimeSpan.Zero, ct);

            var latencies = launched.Where(l => firstCall.ContainsKey(l.Key))
                .Select(l => (firstCall[l.Key] - l.Value).TotalMilliseconds).Order().ToArray();
            var walls = reports.Select(r => r.Elapsed.TotalMilliseconds).Order().ToArray();
            var ran = reports.Sum(r => r.Executions.Count);
            var ok = reports.Sum(r => r.Executions.Count(e => e.Status == ExecutionStatus.Succeeded));
            Console.WriteLine($"bench: {cycles} cycles x {winners} winners ({cpu}m, {memory} MiB each): {ok}/{ran} executions succeeded");
            Console.WriteLine($"  launch -> first API call: p50 {Percentile(latencies, 0.5):F0} ms, p90 {Percentile(latencies, 0.9):F0} ms (n={latencies.Length})");
            Console.WriteLine($"  cycle wall time:          p50 {Percentile(walls, 0.5):F0} ms, p90 {Percentile(walls, 0.9):F0} ms (n={walls.Length})");
            return ok == ran && ran == cycles * winners ? ExitCodes.Ok : ExitCodes.Failure;
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static async Task AddAgentsAsync(LiveEconomy economy, int count, CancellationToken ct)
    {
        var databases = economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
        var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
        for (var i = 1; i <= count; i++)
        {
            var id = $"bench-{i:00}";
            await using var db = await databases.CreateDbContextAsync(ct);
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var ledger = ledgers(db);
            await ledger.OpenAccountAsync(AccountIds.ForAgent(id), AccountKind.Agent, ct);
            await ledger.TransferAsync(new TransferRequest($"{id}:endowment", AccountIds.Treasury, AccountIds.ForAgent(id), 100_000,
                TransferKind.Endowment, Memo: "bench agent"), ct);
            db.Add(new AgentRecord { Id = id, Name = id, RootId = id, CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private sealed class TimedSandbox(ISandbox inner, ConcurrentDictionary<string, DateTimeOffset> launched) : ISandbox
    {
        public Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            launched[request.ExecutionId] = DateTimeOffset.UtcNow;
            return inner.RunAsync(request, ct);
        }
    }
}
