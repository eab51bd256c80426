using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using CyAgents.Contracts;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Schema;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Market;
using CyAgents.SystemApi.Workspaces;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `agents` group: agents of a live economy (`agents create`, `agents history`).</summary>
public static class AgentsCommand
{
    public static Command Create()
    {
        var command = new Command("agents", """
            Agents of a live economy.
            Example: dotnet run --project src/Orchestrator -- agents create --template workspaces/genesis --endowment 5000 --name scout
            """)
        {
            CreateVerb(),
            AgentsHistoryCommand.Create(),
        };
        return command;
    }

    private static Command CreateVerb()
    {
        var template = new Option<string?>("--template")
        {
            Description = "Template folder: agent.json (docs/manifest.md) and the agent's code, copied into the new agent's workspace.",
        };
        var endowment = new Option<string?>("--endowment") { Description = "Credits the treasury gives the new agent (a whole number, at least 1)." };
        var name = new Option<string?>("--name") { Description = "Display name, unique among agents (default: the template folder's name)." };
        var data = new Option<string>("--data")
        {
            Description = "The run's data folder: its database, and (while `run` runs) run.json and operator.token.", DefaultValueFactory = _ => "data",
        };
        var db = new Option<string?>("--db") { Description = "SQLite database file when `run` is not running (default: <data>/cyagents.db)." };
        var workspaces = new Option<string>("--workspaces")
        {
            Description = "Folder of per-agent workspaces when `run` is not running (the run's own while it runs).", DefaultValueFactory = _ => "workspaces",
        };
        var command = new Command("create", """
            Creates a root agent from a template folder, endowed from the treasury. Its manifest (agent.json) is read
            and stored with it; its first bid is the manifest's entryBid (or the configured one) in the next cycle.
            While `run` runs on the same data folder this goes through its operator endpoint (POST /v1/operator/agents,
            loopback, with <data>/operator.token); otherwise it changes the database directly, holding <data>/run.lock.
            Bad arguments are refused in one line (exit 2) and nothing is created.
            Examples:
              dotnet run --project src/Orchestrator -- agents create --template workspaces/genesis --endowment 5000
              dotnet run --project src/Orchestrator -- agents create --template ~/my-agent --endowment 20000 --name trader --data data
            """)
        {
            template, endowment, name, data, db, workspaces,
        };
        command.SetAction(async (parse, ct) => await RunAsync(parse.GetValue(template), parse.GetValue(endowment), parse.GetValue(name),
            FromRepository(parse.GetValue(data)!), parse.GetValue(db) is { } d ? FromRepository(d) : null, FromRepository(parse.GetValue(workspaces)!),
            Console.Out, Console.Error, ct));
        return command;
    }

    /// <summary>The verb's work, with its output streams given (tests call it in process).</summary>
    public static async Task<int> RunAsync(string? templateArg, string? endowmentArg, string? nameArg, string dataDirectory, string? databasePath,
        string workspacesRoot, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        int Usage(string message)
        {
            stderr.WriteLine($"cyagents agents create: {message}");
            return ExitCodes.Usage;
        }
        if (string.IsNullOrWhiteSpace(templateArg)) return Usage("--template DIR is required (a folder holding agent.json).");
        var folder = Path.GetFullPath(templateArg);
        if (WorkspaceFiles.Entry(folder) is not DirectoryInfo { LinkTarget: null }) return Usage($"--template: {folder} is not a folder.");
        if (string.IsNullOrWhiteSpace(endowmentArg)) return Usage("--endowment N is required (credits from the treasury, at least 1).");
        if (!long.TryParse(endowmentArg, NumberStyles.None, CultureInfo.InvariantCulture, out var credits) || credits < 1)
            return Usage($"--endowment must be a whole number of credits of at least 1 (got '{endowmentArg}').");
        var request = new CreateAgentRequest((nameArg ?? Path.GetFileName(folder.TrimEnd('/'))).Trim(), credits, folder);
        if (AgentCreation.Check(request) is { } invalid) return Usage(OneLine(invalid));
        // The manifest is checked here too, so a bad one is refused before the database or the run is touched.
        try { AgentManifestReader.ReadFolder(folder); }
        catch (AgentManifestException e) { return Usage($"--template: {e.Message}"); }

        using var held = RunLock.TryAcquire(dataDirectory);
        try
        {
            return held is null
                ? await ThroughRunAsync(request, dataDirectory, stdout, stderr, ct)
                : await OfflineAsync(request, databasePath ?? Path.Combine(dataDirectory, "cyagents.db"), workspacesRoot, stdout, stderr, ct);
        }
        catch (SchemaVersionException e)
        {
            stderr.WriteLine($"cyagents agents create: {e.Message}");
            return ExitCodes.Database;
        }
        catch (DbException e)
        {
            stderr.WriteLine($"cyagents agents create: cannot use the database: {e.Message.Split('\n')[0].Trim()}");
            return ExitCodes.Database;
        }
    }

    /// <summary>`run` is not running: the database directly, in one transaction, while this process holds the data folder's lock.</summary>
    private static async Task<int> OfflineAsync(CreateAgentRequest request, string databasePath, string workspacesRoot, TextWriter stdout,
        TextWriter stderr, CancellationToken ct)
    {
        var options = DatabaseOptions.ForSqliteFile(databasePath);
        await DatabaseSetup.EnsureCreatedAsync(options, ct);
        var workspaces = new WorkspaceTemplate(Microsoft.Extensions.Options.Options.Create(new WorkspaceOptions
        {
            Root = workspacesRoot, Template = request.Template!, Templates = workspacesRoot,
        }));
        Directory.CreateDirectory(workspacesRoot);
        WorkspaceTemplate.Staged? staged = null;
        try
        {
            await using var db = new CyAgentsDbContext(options.BuildOptions());
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var ledger = new EfLedger(db);
            var cycle = await MarketView.CurrentCycleAsync(db, ct);
            var (agent, refusal) = await AgentCreation.CreateAsync(db, ledger, workspaces, request, ManifestMinimums.Default, cycle,
                DateTimeOffset.UtcNow, s => staged = s, ct);
            if (refusal is not null)
            {
                stderr.WriteLine($"cyagents agents create: {OneLine(refusal)}");
                return ExitCodes.Usage;
            }
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            staged!.Commit();
            stdout.WriteLine($"created agent {agent!.Id} ({agent.Name}) with {request.Endowment} credits; workspace {staged.FinalPath}; " +
                             "it bids in the next cycle of `run`");
            return ExitCodes.Ok;
        }
        finally
        {
            staged?.Dispose();
        }
    }

    /// <summary>`run` is running: its operator endpoint on loopback, with the token it wrote into the data folder.</summary>
    private static async Task<int> ThroughRunAsync(CreateAgentRequest request, string dataDirectory, TextWriter stdout, TextWriter stderr,
        CancellationToken ct)
    {
        var info = RunLock.ReadInfo(dataDirectory);
        var url = info?.ApiUrls.FirstOrDefault(u => u.StartsWith("http://", StringComparison.Ordinal));
        if (url is null)
        {
            stderr.WriteLine($"cyagents agents create: a `run` holds {Path.Combine(dataDirectory, RunLock.LockFileName)} but listens on no loopback URL " +
                             "(started with --api-urls \"\"?): stop it, or restart it with --api-urls http://127.0.0.1:5080");
            return ExitCodes.Failure;
        }
        var tokenFile = Path.Combine(dataDirectory, "operator.token");
        string token;
        try { token = File.ReadAllText(tokenFile).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"cyagents agents create: cannot read the operator token {tokenFile}: {e.Message}");
            return ExitCodes.Failure;
        }
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        using var client = new SystemApiClient(http, token);
        try
        {
            var created = await client.CreateAgentAsync(request, idempotencyKey: Guid.NewGuid().ToString("N"), ct);
            stdout.WriteLine($"created agent {created.Agent.Id} ({created.Agent.Name}) with {created.Endowment} credits through the running " +
                             $"`run` (pid {info!.ProcessId}); workspace {created.Workspace}; it bids in the next cycle");
            return ExitCodes.Ok;
        }
        catch (SystemApiException e)
        {
            var p = e.Problem;
            var detail = p.Errors is { Count: > 0 } fields ? string.Join("; ", fields.Select(f => $"{f.Key}: {string.Join(", ", f.Value)}")) : p.Detail;
            stderr.WriteLine($"cyagents agents create: {detail} ({p.Code})");
            return p.Code == ErrorCodes.Validation ? ExitCodes.Usage : ExitCodes.Failure;
        }
        catch (HttpRequestException e)
        {
            stderr.WriteLine($"cyagents agents create: the running `run` does not answer at {url}: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static string OneLine(Refusal refusal) => refusal.Message.ReplaceLineEndings(" ");

    /// <summary>Relative paths mean the repository root, as for `run`.</summary>
    private static string FromRepository(string path)
    {
        if (Path.IsPathRooted(path)) return path;
        try { return Path.Combine(Sandbox.AgentImage.FindSourceRoot(), path); }
        catch (InvalidOperationException) { return Path.GetFullPath(path); }
    }
}
