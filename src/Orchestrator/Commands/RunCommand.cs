using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using CyAgents.Economy.Clearing;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Starters;
using CyAgents.Persistence;
using CyAgents.Persistence.Schema;
using CyAgents.SystemApi.Agents;
using Microsoft.Extensions.Options;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `run` verb: live allocation cycles with real containers.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var cycles = new Option<int?>("--cycles")
        {
            Description = "Stop after this many cycles (default: run until Ctrl+C; Ctrl+C finishes the cycle's bookkeeping, stops containers and exits 0).",
        };
        var interval = new Option<string?>("--interval")
        {
            Description = "Pause between cycles, e.g. 2s, 500ms, 1m (default: Live:Interval, 2s).",
        };
        var window = new Option<string?>("--window")
        {
            Description = "Execution window: how long a winner may run before it is killed (TimedOut), e.g. 30s (default: Live:ExecutionWindow, 30s).",
        };
        var data = new Option<string>("--data")
        {
            Description = "Folder for the database, system.log, the operator token and the API's unix socket.", DefaultValueFactory = _ => "data",
        };
        var db = new Option<string?>("--db") { Description = "SQLite database file (default: <data>/cyagents.db). Created on first start." };
        var mechanism = new Option<string?>("--mechanism")
        {
            Description = $"Clearing mechanism: {string.Join(", ", ClearingMechanisms.Names)} (default: Live:Mechanism, critical-value); optimal, vcg and proportional are for simulate, sweep and clear only.",
        };
        var workspaces = new Option<string>("--workspaces")
        {
            Description = "Folder of per-agent workspaces; new ones are copied from <workspaces>/genesis.", DefaultValueFactory = _ => "workspaces",
        };
        var endowment = new Option<long?>("--genesis-endowment")
        {
            Description = $"Credits the Genesis agent gets from the treasury on first start (default: Live:Genesis:Endowment, {new GenesisOptions().Endowment}).",
        };
        var apiUrls = new Option<string>("--api-urls")
        {
            Description = "Loopback URLs the System API also listens on for humans (';'-separated; empty for the unix socket only).",
            DefaultValueFactory = _ => "http://127.0.0.1:5080",
        };
        var debugAgent = new Option<string?>("--debug-agent")
        {
            Description = "Agent id to debug: its container is kept after exit, the debugger folder is mounted at /vsdbg and the agent " +
                          "waits for an attach (see docs/live-cycles.md, VS Code \"Attach to agent container\").",
        };
        var debuggerFolder = new Option<string?>("--debugger-folder")
        {
            Description = "Host folder holding vsdbg, mounted read-only for the debugged agent (default: ~/.vsdbg).",
        };
        var engine = new Option<string>("--engine")
        {
            Description = "The Docker engine's unix socket.", DefaultValueFactory = _ => DockerEngine.DefaultSocket,
        };
        var genesisTemplate = new Option<string?>("--genesis-template")
        {
            Description = "Template folder (agent.json and code, docs/manifest.md) the first agent is created from, on a new database " +
                          "(default: <workspaces>/genesis). On a database that has agents it must be the template the first agent was " +
                          "created from (same manifest), else run refuses; add agents with `agents create` instead.",
        };
        var quiet = new Option<bool>("--quiet") { Description = "Write events only to system.log, not to the console." };
        var tasks = new Option<string?>("--tasks")
        {
            Description = "A task feed (JSON, see tasks/feed.json and docs/live-cycles.md): operator tasks with rewards from the treasury, posted " +
                          "at start unless posted before on this database. scripts/run passes tasks/feed.json when no option is given.",
        };
        var reserve = new Option<string?>("--reserve")
        {
            Description = "Reserve prices for first-price and critical-value: none, posted (the cycle's posted prices: an uncontested host still " +
                          "earns) or fixed (Live:Reserve:Cpu|Memory|Tokens|Attention) (default: Live:Reserve:Mode, none; scripts/run passes posted).",
        };
        var starters = new Option<int?>("--starters")
        {
            Description = $"On a new economy (before its first cycle), also create this many root agents from --starter-template, named " +
                          $"<folder>-1 … <folder>-N, each endowed from the treasury (0 … {StarterAgents.MaxCount}; default 0; scripts/run passes 3).",
        };
        var starterTemplate = new Option<string?>("--starter-template")
        {
            Description = "Template folder (agent.json and code) of the --starters agents (default: <workspaces>/python-agent).",
        };
        var starterEndowment = new Option<long?>("--starter-endowment")
        {
            Description = $"Credits each --starters agent gets from the treasury (default {DefaultStarterEndowment}).",
        };

        var command = new Command("run", """
            Runs live allocation cycles: agents bid credits for CPU, memory, tokens and attention; winners run in
            network-less, resource-capped Docker containers and talk to the System API over a mounted unix socket.
            First start creates the database, the treasury and the Genesis agent (which wins cycle 1), and builds
            the agent image offline. Needs a Docker engine: run scripts/ensure-docker first.
            Examples:
              dotnet run --project src/Orchestrator -- run --cycles 5 --interval 1s
              dotnet run --project src/Orchestrator -- run --genesis-template ~/my-agent --data data-mine
            """)
        {
            cycles, interval, window, data, db, mechanism, workspaces, endowment, apiUrls, debugAgent, debuggerFolder, engine, genesisTemplate, quiet, tasks,
            reserve, starters, starterTemplate, starterEndowment,
        };
        command.SetAction(async (parse, ct) =>
        {
            TimeSpan? pause = null, executionWindow = null;
            if ((parse.GetValue(interval) is { } i && !TryOptionalDuration(i, out pause)) ||
                (parse.GetValue(window) is { } w && (!TryOptionalDuration(w, out executionWindow) || executionWindow <= TimeSpan.Zero)))
            {
                Console.Error.WriteLine("cyagents run: --interval and --window take a duration such as 500ms, 2s, 1m or 00:00:30 (window > 0).");
                return ExitCodes.Usage;
            }
            if (parse.GetValue(cycles) is < 1)
            {
                Console.Error.WriteLine("cyagents run: --cycles must be at least 1.");
                return ExitCodes.Usage;
            }
            if (parse.GetValue(mechanism) is { } named && !ClearingMechanisms.TryCreate(named, out _))
            {
                Console.Error.WriteLine($"cyagents run: unknown mechanism '{parse.GetValue(mechanism)}'; use one of {string.Join(", ", ClearingMechanisms.Names)}.");
                return ExitCodes.Usage;
            }
            if (parse.GetValue(mechanism) is { } research && LiveOptions.NotForLiveCycles.TryGetValue(research.Trim().ToLowerInvariant(), out var why))
            {
                Console.Error.WriteLine($"cyagents run: mechanism '{research}' cannot clear live cycles: {why}; use it with simulate, sweep or clear.");
                return ExitCodes.Usage;
            }
            if (parse.GetValue(endowment) is < 1)
            {
                Console.Error.WriteLine("cyagents run: --genesis-endowment must be at least 1.");
                return ExitCodes.Usage;
            }
            if (parse.GetValue(reserve) is { } mode && mode is not ("none" or "posted" or "fixed"))
            {
                Console.Error.WriteLine($"cyagents run: --reserve must be none, posted or fixed (got '{mode}').");
                return ExitCodes.Usage;
            }
            var starterCount = parse.GetValue(starters) ?? 0;
            if (starterCount is < 0 or > StarterAgents.MaxCount)
            {
                Console.Error.WriteLine($"cyagents run: --starters must be 0 … {StarterAgents.MaxCount} (got {starterCount}).");
                return ExitCodes.Usage;
            }
            var starterCredits = parse.GetValue(starterEndowment) ?? DefaultStarterEndowment;
            if (starterCredits is < 1 or > AgentCreation.MaxEndowment)
            {
                Console.Error.WriteLine($"cyagents run: --starter-endowment must be 1 … {AgentCreation.MaxEndowment} credits (got {starterCredits}).");
                return ExitCodes.Usage;
            }
            var workspacesRoot = FromRepository(parse.GetValue(workspaces)!);
            var starterFolder = parse.GetValue(starterTemplate) is { } st ? Path.GetFullPath(st) : Path.Combine(workspacesRoot, "python-agent");
            if (starterCount > 0)
            {
                try { AgentManifestReader.ReadFolder(starterFolder); }
                catch (AgentManifestException e)
                {
                    Console.Error.WriteLine($"cyagents run: --starter-template {starterFolder}: {e.Message}");
                    return ExitCodes.Usage;
                }
            }
            var firstTemplate = Path.Combine(workspacesRoot, "genesis");
            if (parse.GetValue(genesisTemplate) is { } chosen)
            {
                firstTemplate = Path.GetFullPath(chosen);
                try { AgentManifestReader.ReadFolder(firstTemplate); }
                catch (AgentManifestException e)
                {
                    Console.Error.WriteLine($"cyagents run: --genesis-template {firstTemplate}: {e.Message}");
                    return ExitCodes.Usage;
                }
            }
            IReadOnlyList<CyAgents.Orchestrator.Tasks.TaskFeedEntry>? feed = null;
            if (parse.GetValue(tasks) is { } feedPath)
            {
                try { feed = CyAgents.Orchestrator.Tasks.TaskFeed.Read(FromRepository(feedPath), new CyAgents.SystemApi.Tasks.TaskOptions().MaxReward); }
                catch (CyAgents.Orchestrator.Tasks.TaskFeedException e)
                {
                    Console.Error.WriteLine($"cyagents run: --tasks: {e.Message}");
                    return ExitCodes.Usage;
                }
            }
            var settings = new LiveSettings
            {
                DataDirectory = FromRepository(parse.GetValue(data)!),
                DatabasePath = parse.GetValue(db) is { } dbPath ? FromRepository(dbPath) : null,
                WorkspacesRoot = workspacesRoot,
                WorkspaceTemplate = firstTemplate,
                TemplatesFolder = Path.Combine(workspacesRoot),
                ApiUrls = parse.GetValue(apiUrls) ?? "",
                EngineSocket = parse.GetValue(engine)!,
                DebugAgentId = parse.GetValue(debugAgent),
                DebuggerFolder = parse.GetValue(debuggerFolder),
                ConsoleLog = !parse.GetValue(quiet),
                // Options given on the command line win over the configuration's Live section: they are its last source.
                Configuration = CommandLineKeys(parse.GetValue(mechanism), executionWindow, pause, parse.GetValue(endowment), parse.GetValue(reserve)),
            };
            try
            {
                // A database from a newer CyAgents is refused before the engine, the log or the file is touched.
                await DatabaseSetup.CheckVersionAsync(DatabaseOptions.ForSqliteFile(settings.Database), ct);
                if (parse.GetValue(genesisTemplate) is not null && await GenesisTemplateConflictAsync(settings, firstTemplate, ct) is { } conflict)
                {
                    Console.Error.WriteLine($"cyagents run: {conflict}");
                    return ExitCodes.Usage;
                }
                await using var economy = await LiveEconomy.StartAsync(settings, ct);
                if (feed is not null)
                {
                    var binding = economy.Services.GetRequiredService<CyAgents.SystemApi.Hosting.LedgerBinding>();
                    var posted = await CyAgents.Orchestrator.Tasks.TaskFeed.PostAsync(
                        economy.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<CyAgentsDbContext>>(), db => binding(db), feed,
                        DateTimeOffset.UtcNow, ct);
                    Console.Error.WriteLine($"cyagents run: task feed: {posted} of {feed.Count} tasks posted ({feed.Count - posted} posted before)");
                }
                if (starterCount > 0)
                {
                    var outcome = await economy.Services.GetRequiredService<StarterAgents>().EnsureAsync(starterFolder, starterCount, starterCredits, ct);
                    Console.Error.WriteLine(outcome.NotCreatedBecause is { } notCreated
                        ? $"cyagents run: starters: none created ({outcome.Existing} of {starterCount} exist): {notCreated}"
                        : $"cyagents run: starters: {outcome.Created.Count} of {starterCount} created from {starterFolder} with {starterCredits} credits each " +
                          $"({outcome.Existing} existed): {string.Join(", ", outcome.Created.Select(a => $"{a.Name} {a.Id}"))}");
                    foreach (var agent in outcome.Created)
                        economy.Logger.LogInformation("Starter agent {AgentId} ({Name}) created from {Template} with {Endowment} credits",
                            agent.Id, agent.Name, starterFolder, starterCredits);
                }
                var reports = await economy.RunCyclesAsync(parse.GetValue(cycles), economy.Options.Interval, ct);
                Console.Error.WriteLine($"cyagents run: {reports.Count} cycles done; log: {settings.Log}");
                return ExitCodes.Ok;
            }
            catch (Exception e) when (ConfigurationProblem(e) is { } problem)
            {
                Console.Error.WriteLine($"cyagents run: invalid configuration: {problem}");
                return ExitCodes.Configuration;
            }
            catch (StarterRefusedException e)
            {
                Console.Error.WriteLine($"cyagents run: --starters: {e.Message}");
                return ExitCodes.Usage;
            }
            catch (DataFolderBusyException e)
            {
                Console.Error.WriteLine($"cyagents run: {e.Message}");
                return ExitCodes.Database;
            }
            catch (DockerEngineUnavailableException e)
            {
                Console.Error.WriteLine($"cyagents run: {e.Message}");
                return ExitCodes.EngineUnavailable;
            }
            catch (LedgerInvariantBrokenException e)
            {
                Console.Error.WriteLine($"cyagents run: {e.Message}");
                return ExitCodes.LedgerBroken;
            }
            catch (Exception e) when (StorageFailedException.From(e) is { } storage)
            {
                // One line, not a stack trace: the refused write left nothing half-written and the next start resumes.
                Console.Error.WriteLine($"cyagents run: storage failed: {storage.Message}; nothing was half-written — fix it and run again to resume.");
                return ExitCodes.StorageFailed;
            }
            catch (SchemaVersionException e)
            {
                Console.Error.WriteLine($"cyagents run: {e.Message}");
                return ExitCodes.Database;
            }
            catch (DbException e)
            {
                Console.Error.WriteLine($"cyagents run: cannot use the database {settings.Database}: {e.Message.Split('\n')[0].Trim()}");
                return ExitCodes.Database;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return ExitCodes.Ok;
            }
        });
        return command;
    }

    /// <summary>Credits of each --starters agent unless --starter-endowment says otherwise: enough to bid, spawn once and work for 30+ cycles.</summary>
    public const long DefaultStarterEndowment = 5000;

    /// <summary>
    /// On a database that has agents, --genesis-template is accepted only when it is the template the first agent was made
    /// from (its stored manifest equals the folder's), so re-running the same command line works and a different folder is
    /// refused instead of silently ignored (ADR 0102). Reads the database without changing it; a new file has no agents.
    /// </summary>
    private static async Task<string?> GenesisTemplateConflictAsync(LiveSettings settings, string template, CancellationToken ct)
    {
        if (!File.Exists(settings.Database)) return null;
        var options = DatabaseOptions.ForSqliteFile(settings.Database);
        if (await DatabaseSetup.ReadVersionAsync(options, ct) is null or < 3) return null;
        await using var db = new CyAgentsDbContext(options.BuildOptions());
        var first = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.FirstOrDefaultAsync(
            db.Set<Persistence.Records.AgentRecord>().OrderBy(a => a.CreatedAt).ThenBy(a => a.Id), ct);
        if (first is null) return null;
        var wanted = AgentManifestReader.Write(AgentManifestReader.ReadFolder(template));
        return AgentManifestReader.Write(AgentManifestReader.FromStored(first.ManifestJson)) == wanted
            ? null
            : $"--genesis-template applies to a new database; {settings.Database} has agents already and its first agent '{first.Id}' " +
              $"was not made from {template}. Add an agent with `cyagents agents create --template {template} --endowment N`.";
    }

    private static Dictionary<string, string?> CommandLineKeys(string? mechanism, TimeSpan? window, TimeSpan? interval, long? endowment, string? reserve)
    {
        var keys = new Dictionary<string, string?>();
        if (reserve is not null) keys[$"{LiveOptions.Section}:Reserve:Mode"] = reserve;
        if (mechanism is not null) keys[$"{LiveOptions.Section}:Mechanism"] = mechanism;
        if (window is { } w) keys[$"{LiveOptions.Section}:ExecutionWindow"] = w.ToString("c", CultureInfo.InvariantCulture);
        if (interval is { } i) keys[$"{LiveOptions.Section}:Interval"] = i.ToString("c", CultureInfo.InvariantCulture);
        if (endowment is { } e) keys[$"{LiveOptions.Section}:Genesis:Endowment"] = e.ToString(CultureInfo.InvariantCulture);
        return keys;
    }

    /// <summary>
    /// The one line that says which settings are wrong, when <paramref name="e"/> is a failed start-up validation (one
    /// options class, or several at once) or a value the configuration binder could not convert.
    /// </summary>
    private static string? ConfigurationProblem(Exception e) => e switch
    {
        OptionsValidationException v => string.Join("; ", v.Failures),
        AggregateException { InnerExceptions: var inner } when inner.Count > 0 && inner.All(x => x is OptionsValidationException) =>
            string.Join("; ", inner.SelectMany(x => ((OptionsValidationException)x).Failures)),
        InvalidOperationException { InnerException: FormatException or InvalidCastException or OverflowException } i when i.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase) =>
            i.Message,
        _ => null,
    };

    /// <summary>Relative paths mean the repository root (where workspaces/genesis lives), whatever folder dotnet run starts in.</summary>
    internal static string FromRepository(string path)
    {
        if (Path.IsPathRooted(path)) return path;
        try { return Path.Combine(AgentImage.FindSourceRoot(), path); }
        catch (InvalidOperationException) { return Path.GetFullPath(path); }
    }

    private static bool TryOptionalDuration(string text, out TimeSpan? value)
    {
        var ok = TryDuration(text, out var parsed);
        value = ok ? parsed : null;
        return ok;
    }

    /// <summary>Parses 500ms, 2s, 1m, 1h or a TimeSpan (00:00:30).</summary>
    public static bool TryDuration(string text, out TimeSpan value)
    {
        text = text.Trim();
        (string Suffix, double Scale)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) &&
                double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
            {
                value = TimeSpan.FromMilliseconds(n * scale);
                return true;
            }
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
