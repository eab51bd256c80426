using System.Collections.Concurrent;
using System.CommandLine;
using System.Text.Json;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.SystemApi.Agents;
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
        var flood = new Option<int>("--flood")
        {
            Description = "Instead: one agent per cycle prints this many MiB without newlines as fast as it can, beside Genesis; "
                + "prints the orchestrator's peak RSS and the cycle wall time (needs a static /bin/busybox: scripts/ensure-busybox).",
            DefaultValueFactory = _ => 0,
        };
        var python = new Option<bool>("--python")
        {
            Description = "Also run one Python agent (python runtime) every cycle, and the Genesis-built agents in the dotnet runtime, "
                + "and report launch -> first API call per runtime (builds both runtime images first if missing).",
        };
        var command = new Command("bench", """
            Measures live cycles on the real Docker engine in a throw-away data folder: the time from launching a winner
            (container create) to its first System API call, and the wall time of whole cycles in which every winner
            reads prices and balance, bids and exits. Prints medians and 90th percentiles.
            With --flood: the output budget under attack instead (an agent printing that many MiB each cycle).
            With --python: one more agent per cycle, written in Python (stdlib only), in the python runtime beside the dotnet one.
            Examples: bench --winners 1 --cycles 20 --cpu 1000    bench --winners 10 --cycles 5 --cpu 200    bench --flood 200 --cycles 3
                      bench --winners 1 --cycles 20 --cpu 500 --python
            """)
        {
            winners, cycles, cpu, memory, flood, python,
        };
        command.SetAction(async (parse, ct) =>
        {
            var (w, c, cpuEach, memEach) = (parse.GetValue(winners), parse.GetValue(cycles), parse.GetValue(cpu), parse.GetValue(memory));
            if (w < 1 || c < 1 || cpuEach < 1 || memEach < 16)
            {
                Console.Error.WriteLine("cyagents bench: --winners, --cycles, --cpu must be >= 1 and --memory >= 16.");
                return ExitCodes.Usage;
            }
            var floodMiB = parse.GetValue(flood);
            if (floodMiB < 0)
            {
                Console.Error.WriteLine("cyagents bench: --flood must be >= 0 (MiB).");
                return ExitCodes.Usage;
            }
            try
            {
                return floodMiB > 0 ? await FloodAsync(floodMiB, c, ct) : await RunAsync(w, c, cpuEach, memEach, parse.GetValue(python), ct);
            }
            catch (DockerEngineUnavailableException e)
            {
                Console.Error.WriteLine($"cyagents bench: {e.Message}");
                return ExitCodes.EngineUnavailable;
            }
        });
        return command;
    }

    /// <summary>The bench's Python agent: reads its context, makes one API call over the unix socket with its token, exits.</summary>
    private const string PythonAgent = "bench-python";
    private const string PythonFirstCall = """
        import json, os, socket
        with open(os.environ["CYAGENTS_ENV"]) as f:
            context = json.load(f)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(context["apiSocket"])
        s.sendall(("GET /v1/market/prices HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + context["token"] + "\r\nConnection: close\r\n\r\n").encode())
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        print(reply.split(b"\r\n", 1)[0].decode())
        """;

    private static async Task<int> RunAsync(int winners, int cycles, long cpu, long memory, bool python, CancellationToken ct)
    {
        var root = Directory.CreateTempSubdirectory("cyagents-bench-").FullName;
        var template = Directory.CreateDirectory(Path.Combine(root, "workspaces", "genesis")).FullName;
        var bundle = new { cpuMillicores = cpu, memoryMiB = memory, tokens = 0, attentionBasisPoints = 0 };
        await File.WriteAllTextAsync(Path.Combine(template, "strategy.json"),
            JsonSerializer.Serialize(new { bidFraction = 0.001, minBid = 1, bundle, spawnThreshold = (long?)null }), ct);
        var launched = new ConcurrentDictionary<string, DateTimeOffset>();
        var firstCall = new ConcurrentDictionary<string, DateTimeOffset>();
        var programs = new RuntimePrograms();
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
            SandboxDecorator = inner => new TimedSandbox(python ? new RuntimeSandbox(inner, programs) : inner, launched),
            OnAgentRequest = (execution, at) => firstCall.TryAdd(execution, at),
        };
        try
        {
            await using var economy = await LiveEconomy.StartAsync(settings, ct);
            var extraCpu = python ? 250 : 0;
            if (economy.Cycle.Supply.CpuMillicores < winners * cpu + extraCpu)
            {
                Console.Error.WriteLine($"cyagents bench: {winners} x {cpu}m (+{extraCpu}m) does not fit the supply of {economy.Cycle.Supply.CpuMillicores}m; lower --cpu.");
                return ExitCodes.Usage;
            }
            if (python)
            {
                var runtimes = economy.Services.GetRequiredService<IRuntimeImages>();
                programs.Dotnet = new AgentProgram(await runtimes.EnsureAsync(RuntimeNames.Dotnet, ct), [Sandbox.Runtimes.DotnetRuntime.GenesisPath]);
                programs.Python = new AgentProgram(await runtimes.EnsureAsync(RuntimeNames.Python, ct), ["python3", "-c", PythonFirstCall]);
                await AddAgentsAsync(economy, winners - 1, ct, PythonAgent);
            }
            else await AddAgentsAsync(economy, winners - 1, ct);
            await economy.RunCyclesAsync(1, TimeSpan.Zero, ct); // warm-up: first launches, SQLite pages, JIT of the host
            launched.Clear();
            firstCall.Clear();
            var reports = new List<CycleReport>();
            for (var i = 0; i < cycles; i++)
            {
                // The Python agent makes one call and exits; the host bids for it, as the Genesis-built agents bid for themselves.
                if (python) await PlaceBidAsync(economy, PythonAgent, await economy.Cycle.NextNumberAsync(ct), ct);
                reports.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero, ct));
            }

            double[] Latencies(Func<string, bool> which) => launched.Where(l => firstCall.ContainsKey(l.Key) && which(l.Key))
                .Select(l => (firstCall[l.Key] - l.Value).TotalMilliseconds).Order().ToArray();
            var walls = reports.Select(r => r.Elapsed.TotalMilliseconds).Order().ToArray();
            var ran = reports.Sum(r => r.Executions.Count);
            var ok = reports.Sum(r => r.Executions.Count(e => e.Status == ExecutionStatus.Succeeded));
            var expected = cycles * (winners + (python ? 1 : 0));
            Console.WriteLine($"bench: {cycles} cycles x {winners} winners ({cpu}m, {memory} MiB each){(python ? " + 1 Python agent" : "")}: {ok}/{ran} executions succeeded");
            if (python)
            {
                var py = Latencies(programs.IsPython);
                var net = Latencies(e => !programs.IsPython(e));
                Console.WriteLine($"  launch -> first API call, dotnet runtime: p50 {Percentile(net, 0.5):F0} ms, p90 {Percentile(net, 0.9):F0} ms (n={net.Length})");
                Console.WriteLine($"  launch -> first API call, python runtime: p50 {Percentile(py, 0.5):F0} ms, p90 {Percentile(py, 0.9):F0} ms (n={py.Length})");
            }
            else
            {
                var latencies = Latencies(_ => true);
                Console.WriteLine($"  launch -> first API call: p50 {Percentile(latencies, 0.5):F0} ms, p90 {Percentile(latencies, 0.9):F0} ms (n={latencies.Length})");
            }
            Console.WriteLine($"  cycle wall time:          p50 {Percentile(walls, 0.5):F0} ms, p90 {Percentile(walls, 0.9):F0} ms (n={walls.Length})");
            return ok == ran && ran == expected ? ExitCodes.Ok : ExitCodes.Failure;
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// The output budget under attack: each cycle one agent (a busybox shell) prints <paramref name="mib"/> MiB without a
    /// newline as fast as it can while Genesis runs beside it. Reports the cycles' wall time against the window and this
    /// process's peak resident memory (VmHWM), which includes the host's own start-up.
    /// </summary>
    private static async Task<int> FloodAsync(int mib, int cycles, CancellationToken ct)
    {
        if (!File.Exists(ShellImage.DefaultBusybox))
        {
            Console.Error.WriteLine($"cyagents bench: {ShellImage.DefaultBusybox} is missing; run scripts/ensure-busybox first.");
            return ExitCodes.Failure;
        }
        var root = Directory.CreateTempSubdirectory("cyagents-bench-").FullName;
        var template = Directory.CreateDirectory(Path.Combine(root, "workspaces", "genesis")).FullName;
        await File.WriteAllTextAsync(Path.Combine(template, "strategy.json"), JsonSerializer.Serialize(new { bidFraction = 0.001, minBid = 1 }), ct);
        var window = TimeSpan.FromSeconds(30);
        var flooder = "bench-flood";
        string? image = null;
        var outcomes = new ConcurrentDictionary<string, ExecutionOutcome>();
        var settings = new LiveSettings
        {
            DataDirectory = Path.Combine(root, "data"), WorkspacesRoot = Path.Combine(root, "workspaces"), WorkspaceTemplate = template,
            ApiUrls = "", ConsoleLog = false,
            Live = new LiveOptions { ExecutionWindow = window, Capacity = new CapacityOptions { ReserveMillicores = 0, ReserveMemoryMiB = 1024 } },
            SandboxDecorator = inner => new FloodingSandbox(inner, flooder, () => image!, $"head -c {mib * 1048576L} /dev/zero | tr '\\0' A", outcomes),
        };
        try
        {
            await using var economy = await LiveEconomy.StartAsync(settings, ct);
            image = await new ShellImage(economy.Services.GetRequiredService<DockerEngine>()).EnsureAsync(ct: ct);
            await AddAgentsAsync(economy, 0, ct, flooder);
            var walls = new List<double>();
            for (var i = 0; i < cycles; i++)
            {
                var number = await economy.Cycle.NextNumberAsync(ct);
                if (i > 0) await PlaceBidAsync(economy, flooder, number, ct);
                var report = (await economy.RunCyclesAsync(1, TimeSpan.Zero, ct)).Single();
                walls.Add(report.Elapsed.TotalMilliseconds);
            }
            var sorted = walls.Order().ToArray();
            var peak = PeakRssMiB();
            var dropped = outcomes.Values.Select(o => o.OutputBytesDropped / 1048576.0).Order().ToArray();
            var statuses = string.Join(", ", outcomes.Values.Select(o => o.Status).Distinct());
            Console.WriteLine($"bench --flood: {cycles} cycles, one agent printing {mib} MiB without newlines beside Genesis (window {window.TotalSeconds:0} s)");
            Console.WriteLine($"  cycle wall time:   p50 {Percentile(sorted, 0.5):F0} ms, max {sorted[^1]:F0} ms");
            Console.WriteLine($"  output dropped:    p50 {Percentile(dropped, 0.5):F1} MiB per execution (budget {new SandboxOptions().OutputBudgetBytes / 1024} KiB); flooder ended {statuses}");
            Console.WriteLine($"  orchestrator peak RSS (VmHWM): {peak:F0} MiB");
            return peak < 300 && sorted[^1] < (window + TimeSpan.FromSeconds(15)).TotalMilliseconds && outcomes.Count == cycles ? ExitCodes.Ok : ExitCodes.Failure;
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static double PeakRssMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }

    private static async Task PlaceBidAsync(LiveEconomy economy, string agentId, long cycle, CancellationToken ct)
    {
        var databases = economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
        var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await new Persistence.Bids.BidBook(db, ledgers(db)).PlaceAsync(new Persistence.Bids.BidPlacement($"{agentId}-c{cycle}", agentId, cycle,
            Economy.Resources.ResourceBundle.Create(250, 64), 50, DateTimeOffset.UtcNow), ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    private sealed class FloodingSandbox(ISandbox inner, string agentId, Func<string> image, string script,
        ConcurrentDictionary<string, ExecutionOutcome> outcomes) : ISandbox
    {
        public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            if (request.AgentId != agentId) return await inner.RunAsync(request, ct);
            var outcome = await inner.RunAsync(request with { Program = new AgentProgram(image(), ["/bin/sh", "-c", script]) }, ct);
            outcomes[request.ExecutionId] = outcome;
            return outcome;
        }
    }

    private static async Task AddAgentsAsync(LiveEconomy economy, int count, CancellationToken ct, params string[] named)
    {
        var databases = economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
        var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
        foreach (var id in Enumerable.Range(1, count).Select(i => $"bench-{i:00}").Concat(named))
        {
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

    /// <summary>The runtime images the --python bench runs its agents in, filled in once the host has started.</summary>
    private sealed class RuntimePrograms
    {
        public AgentProgram? Dotnet { get; set; }
        public AgentProgram? Python { get; set; }
        public ConcurrentDictionary<string, bool> PythonExecutions { get; } = new();
        public bool IsPython(string executionId) => PythonExecutions.ContainsKey(executionId);
    }

    /// <summary>Runs the Python agent in the python runtime and every other agent (Genesis-built) in the dotnet runtime.</summary>
    private sealed class RuntimeSandbox(ISandbox inner, RuntimePrograms programs) : ISandbox
    {
        public Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            if (request.AgentId == PythonAgent) programs.PythonExecutions[request.ExecutionId] = true;
            var program = request.AgentId == PythonAgent ? programs.Python : programs.Dotnet;
            return inner.RunAsync(request with { Program = program }, ct);
        }
    }

    private sealed class TimedSandbox(ISandbox inner, ConcurrentDictionary<string, DateTimeOffset> launched) : ISandbox
    {
        public Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            launched[request.ExecutionId] = DateTimeOffset.UtcNow;
            return inner.RunAsync(request, ct);
        }
    }
}
