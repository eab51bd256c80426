using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Tasks;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using CyAgents.SystemApi.Tasks;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `tasks` group: tasks with escrowed rewards (`tasks post`, `tasks list`; ADR 0132).</summary>
public static class TasksCommand
{
    public static Command Create() => new("tasks", """
        Tasks that pay: the operator posts work with a reward from the treasury; agents hand in work and the first verified
        submission is paid. See docs/live-cycles.md.
        Example: dotnet run --project src/Orchestrator -- tasks post --title "Write hello.txt" --reward 200 --deadline 20 --verify-python "import sys; sys.exit(open('hello.txt').read() != 'hello')"
        """)
    {
        PostVerb(),
        ListVerb(),
    };

    private static Option<string> DataOption() => new("--data")
    {
        Description = "The run's data folder: its database, and (while `run` runs) run.json and operator.token.", DefaultValueFactory = _ => "data",
    };

    private static Option<string?> DbOption() => new("--db") { Description = "SQLite database file (default: <data>/cyagents.db)." };

    private static Command PostVerb()
    {
        var title = new Option<string?>("--title") { Description = "One line saying what is wanted (required)." };
        var description = new Option<string?>("--description") { Description = "What to hand in and where (file names inside the agent's workspace)." };
        var reward = new Option<string?>("--reward") { Description = "Credits from the treasury, escrowed now, paid to the first verified submission." };
        var deadline = new Option<string?>("--deadline") { Description = "Cycles the task stays open after the current one; then an unawarded reward returns." };
        var python = new Option<string?>("--verify-python")
        {
            Description = "Python source run as `python3 -c SOURCE` in the python runtime, with the submission as working directory; exit 0 passes.",
        };
        var command = new Option<string?>("--verify-command") { Description = "The verifier's argv as a JSON array, e.g. '[\"python3\", \"check.py\"]'." };
        var runtime = new Option<string?>("--runtime") { Description = "Runtime of --verify-command: python (default) or dotnet." };
        var human = new Option<bool>("--human-review") { Description = "No command: the operator approves or rejects each submission (POST /v1/operator/tasks/…/review)." };
        var data = DataOption();
        var db = DbOption();
        var verb = new Command("post", """
            Posts a task from the operator: its reward is escrowed from the treasury at once. Give exactly one of
            --verify-python, --verify-command or --human-review. While `run` runs on the same data folder this goes through its
            operator endpoint (POST /v1/tasks, loopback, with <data>/operator.token); otherwise it changes the database
            directly, holding <data>/run.lock. Bad arguments are refused in one line (exit 2) and nothing is posted.
            Examples:
              dotnet run --project src/Orchestrator -- tasks post --title "Sum 1..1000" --description "sum.txt holds the sum" --reward 250 --deadline 30 --verify-python "import sys; sys.exit(open('sum.txt').read().strip() != '500500')"
              dotnet run --project src/Orchestrator -- tasks post --title "A haiku" --description "poem.txt" --reward 100 --deadline 10 --human-review
            """)
        {
            title, description, reward, deadline, python, command, runtime, human, data, db,
        };
        verb.SetAction(async (parse, ct) =>
        {
            var dataDirectory = RunCommand.FromRepository(parse.GetValue(data)!);
            return await PostAsync(parse.GetValue(title), parse.GetValue(description), parse.GetValue(reward), parse.GetValue(deadline),
                parse.GetValue(python), parse.GetValue(command), parse.GetValue(runtime), parse.GetValue(human), dataDirectory,
                parse.GetValue(db) is { } d ? RunCommand.FromRepository(d) : Path.Combine(dataDirectory, "cyagents.db"), Console.Out, Console.Error, ct);
        });
        return verb;
    }

    /// <summary>The post verb's work, with its output streams given (tests call it in process).</summary>
    public static async Task<int> PostAsync(string? title, string? description, string? rewardArg, string? deadlineArg, string? python,
        string? commandJson, string? runtime, bool human, string dataDirectory, string databasePath, TextWriter stdout, TextWriter stderr,
        CancellationToken ct)
    {
        int Usage(string message)
        {
            stderr.WriteLine($"cyagents tasks post: {message}");
            return ExitCodes.Usage;
        }
        if (!long.TryParse(rewardArg, NumberStyles.None, CultureInfo.InvariantCulture, out var reward))
            return Usage($"--reward must be a whole number of credits (got '{rewardArg}').");
        if (!int.TryParse(deadlineArg, NumberStyles.None, CultureInfo.InvariantCulture, out var deadline))
            return Usage($"--deadline must be a whole number of cycles (got '{deadlineArg}').");
        if ((python is not null ? 1 : 0) + (commandJson is not null ? 1 : 0) + (human ? 1 : 0) != 1)
            return Usage("give exactly one of --verify-python, --verify-command or --human-review.");
        TaskVerifierDto verifier;
        if (human) verifier = new TaskVerifierDto("human");
        else if (python is not null) verifier = new TaskVerifierDto("command", runtime ?? "python", ["python3", "-c", python]);
        else
        {
            List<string>? argv;
            try { argv = JsonSerializer.Deserialize<List<string>>(commandJson!); }
            catch (JsonException) { return Usage("--verify-command must be a JSON array of strings, e.g. '[\"python3\", \"check.py\"]'."); }
            verifier = new TaskVerifierDto("command", runtime ?? "python", argv);
        }
        var request = new PostTaskRequest(title, description, reward, deadline, verifier);
        if (TaskPosting.Check(request, new TaskOptions().MaxReward) is { } invalid) return Usage(invalid.Message.ReplaceLineEndings(" "));

        using var held = RunLock.TryAcquire(dataDirectory);
        try
        {
            if (held is null) return await ThroughRunAsync(request, dataDirectory, stdout, stderr, ct);
            var options = DatabaseOptions.ForSqliteFile(databasePath);
            await DatabaseSetup.EnsureCreatedAsync(options, ct);
            await using var db = new CyAgentsDbContext(options.BuildOptions());
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var (task, refusal) = await TaskPosting.PostAsync(db, new EfLedger(db), request, null, TaskPosting.NewId(), DateTimeOffset.UtcNow, ct);
            if (refusal is not null) return Usage(refusal.Message.ReplaceLineEndings(" "));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            stdout.WriteLine($"posted task {task!.Id} ({task.Title}): {task.Reward} credits escrowed from the treasury, open through cycle {task.DeadlineCycle}");
            return ExitCodes.Ok;
        }
        catch (SchemaVersionException e)
        {
            stderr.WriteLine($"cyagents tasks post: {e.Message}");
            return ExitCodes.Database;
        }
        catch (DbException e)
        {
            stderr.WriteLine($"cyagents tasks post: cannot use the database: {e.Message.Split('\n')[0].Trim()}");
            return ExitCodes.Database;
        }
    }

    private static async Task<int> ThroughRunAsync(PostTaskRequest request, string dataDirectory, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var url = RunLock.ReadInfo(dataDirectory)?.ApiUrls.FirstOrDefault(u => u.StartsWith("http://", StringComparison.Ordinal));
        if (url is null)
        {
            stderr.WriteLine("cyagents tasks post: a `run` holds the data folder but listens on no loopback URL; restart it with --api-urls http://127.0.0.1:5080");
            return ExitCodes.Failure;
        }
        var tokenFile = Path.Combine(dataDirectory, "operator.token");
        string token;
        try { token = File.ReadAllText(tokenFile).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"cyagents tasks post: cannot read the operator token {tokenFile}: {e.Message}");
            return ExitCodes.Failure;
        }
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        using var client = new SystemApiClient(http, token);
        try
        {
            var task = await client.PostTaskAsync(request, idempotencyKey: Guid.NewGuid().ToString("N"), ct);
            stdout.WriteLine($"posted task {task.Id} ({task.Title}) through the running `run`: {task.Reward} credits escrowed from the treasury, " +
                             $"open through cycle {task.DeadlineCycle}");
            return ExitCodes.Ok;
        }
        catch (SystemApiException e)
        {
            stderr.WriteLine($"cyagents tasks post: {e.Problem.Detail} ({e.Problem.Code})");
            return e.Problem.Code == ErrorCodes.Validation ? ExitCodes.Usage : ExitCodes.Failure;
        }
        catch (HttpRequestException e)
        {
            stderr.WriteLine($"cyagents tasks post: the running `run` does not answer at {url}: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static Command ListVerb()
    {
        var status = new Option<string>("--status") { Description = "open (default), awarded, expired or all.", DefaultValueFactory = _ => "open" };
        var data = DataOption();
        var db = DbOption();
        var verb = new Command("list", """
            Lists tasks with their reward, deadline, state and winner, oldest first. Reads the database (also while `run` runs:
            reading needs no lock).
            Example: dotnet run --project src/Orchestrator -- tasks list --status all
            """)
        {
            status, data, db,
        };
        verb.SetAction(async (parse, ct) =>
        {
            var dataDirectory = RunCommand.FromRepository(parse.GetValue(data)!);
            return await ListAsync(parse.GetValue(status)!, parse.GetValue(db) is { } d ? RunCommand.FromRepository(d) : Path.Combine(dataDirectory, "cyagents.db"),
                Console.Out, Console.Error, ct);
        });
        return verb;
    }

    /// <summary>The list verb's work.</summary>
    public static async Task<int> ListAsync(string status, string databasePath, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        TaskState? wanted = status.ToLowerInvariant() switch
        {
            "open" => TaskState.Open, "awarded" => TaskState.Awarded, "expired" => TaskState.Expired, "all" => null, _ => (TaskState)(-1),
        };
        if (wanted == (TaskState)(-1))
        {
            stderr.WriteLine($"cyagents tasks list: --status must be open, awarded, expired or all (got '{status}').");
            return ExitCodes.Usage;
        }
        if (!File.Exists(databasePath))
        {
            stderr.WriteLine($"cyagents tasks list: no database at {databasePath} (start `run` first, or give --data / --db).");
            return ExitCodes.Database;
        }
        try
        {
            var options = DatabaseOptions.ForSqliteFile(databasePath);
            await DatabaseSetup.CheckVersionAsync(options, ct);
            await using var db = new CyAgentsDbContext(options.BuildOptions());
            var query = db.Set<TaskRecord>().AsNoTracking();
            if (wanted is { } w) query = query.Where(t => t.State == w);
            var tasks = await query.OrderBy(t => t.Id).ToListAsync(ct);
            stdout.WriteLine($"{"id",-40} {"reward",8} {"deadline",8} {"state",-8} {"winner",-22} title");
            foreach (var t in tasks)
                stdout.WriteLine($"{t.Id,-40} {t.Reward,8} {t.DeadlineCycle,8} {t.State,-8} {t.WinnerAgentId ?? "-",-22} {t.Title}");
            stdout.WriteLine($"{tasks.Count} tasks");
            return ExitCodes.Ok;
        }
        catch (SchemaVersionException e)
        {
            stderr.WriteLine($"cyagents tasks list: {e.Message}");
            return ExitCodes.Database;
        }
        catch (DbException e)
        {
            stderr.WriteLine($"cyagents tasks list: cannot read the database: {e.Message.Split('\n')[0].Trim()}");
            return ExitCodes.Database;
        }
    }
}
