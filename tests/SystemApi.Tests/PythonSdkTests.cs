using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// The Python SDK (sdk/python/cyagents.py) against the real API on a real unix socket: Debian's /usr/bin/python3 runs
/// sdk/python/tests/test_cyagents.py, whose live tests call every agent-facing endpoint with an execution's token.
/// </summary>
public sealed class PythonSdkTests : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private const string AgentId = "py-agent";
    private const string ExecutionId = "exe-py-1";
    private const long Credits = 20_000;
    private const long GrantedTokens = 2_000;
    // One short prompt costs 200 bp with the default rule (ADR 0135): room for one, so the SDK test meets attention_exhausted on the second.
    private const long GrantedAttention = 300;
    private WebApplication _app = null!;
    private string _root = "";
    private string _socket = "";

    public async Task InitializeAsync()
    {
        _root = Directory.CreateTempSubdirectory("cyagents-pysdk-").FullName;
        _socket = Path.Combine(_root, "api.sock");
        var template = Directory.CreateDirectory(Path.Combine(_root, "workspaces", "genesis")).FullName;
        File.WriteAllText(Path.Combine(template, "README.md"), "template");
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(_root, "cyagents.db")}",
            ["SystemApi:SocketPath"] = _socket,
            ["SystemApi:Urls"] = "",
            ["SystemApi:OperatorTokenFile"] = Path.Combine(_root, "operator.token"),
            // Low enough that the python test can empty the agent's bucket and see a real 429 with Retry-After.
            ["SystemApi:RateLimitPerSecond"] = "10",
            ["SystemApi:RateLimitBurst"] = "150",
            ["SystemApi:MarketCacheMilliseconds"] = "0",
            ["Workspaces:Root"] = Path.Combine(_root, "workspaces"),
            ["Tasks:SubmissionsRoot"] = Path.Combine(_root, "submissions"),
            ["Workspaces:Template"] = template,
            ["Spawn:Fee"] = "10",
            ["Spawn:MaxChildrenPerCycle"] = "1",
        });
        builder.Logging.AddSystemLog(SystemLog.Create(Path.Combine(_root, "system.log"), SystemLog.Orchestrator));
        builder.Services.AddSystemApi(builder.Configuration);
        _app = builder.Build();
        _app.MapSystemApi();
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { /* the log file may still be closing; the temp folder is left behind */ }
    }

    [Fact]
    public async Task The_python_sdk_passes_its_tests_against_the_real_api_over_the_unix_socket()
    {
        File.Exists(Python).ShouldBeTrue($"{Python} (Debian's python3) is missing: scripts/ensure-python installs it");
        var envFile = await StartExecutionAsync();

        var sdk = Path.Combine(RepositoryRoot(), "sdk", "python");
        var (exit, output) = await RunPythonAsync(envFile, sdk, "-m", "unittest", "-v", "tests/test_cyagents.py");

        exit.ShouldBe(0, output);
        var ran = Regex.Match(output, @"^Ran (\d+) tests? in", RegexOptions.Multiline);
        ran.Success.ShouldBeTrue(output);
        int.Parse(ran.Groups[1].Value).ShouldBeGreaterThanOrEqualTo(25, output);
        output.ShouldContain("\nOK");
        output.ShouldNotContain("skipped");
        foreach (var test in new[]
                 {
                     "test_bid_get_list_and_cancel", "test_the_same_idempotency_key_replays_the_first_bid_and_charges_once",
                     "test_refusals_raise_the_class_of_their_stable_code", "test_spawn_agent_and_lineage", "test_ask_and_poll_prompts",
                     "test_models_and_plain_chat", "test_streamed_chat_ends_at_done_with_a_usage_chunk",
                     "test_gateway_refusals_map_to_the_same_errors", "test_embeddings_and_the_old_completion_route",
                     "test_zz_a_real_429_is_raised_with_retry_after_and_waited_out_by_default",
                     "test_429_waits_for_retry_after_and_reuses_the_idempotency_key", "test_post_list_and_submit_tasks",
                 })
            Regex.IsMatch(output, $@"^{test} \(.*\) \.\.\. ok$", RegexOptions.Multiline).ShouldBeTrue($"{test} did not pass:\n{output}");

        // What the python side saw, checked from the host: the replayed bid escrowed once, the spawn paid once,
        // every credit is where the ledger says, and the chat calls were charged to this execution.
        await using var db = await _app.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
        (await db.Set<BidRecord>().CountAsync(b => b.AgentId == AgentId && b.Amount == 77)).ShouldBe(1);
        (await db.Set<AgentRecord>().CountAsync(a => a.ParentId == AgentId)).ShouldBe(1);
        (await db.Set<PromptRecord>().CountAsync(p => p.AgentId == AgentId)).ShouldBe(1);
        var ledger = _app.Services.GetRequiredService<LedgerBinding>()(db);
        var balance = await ledger.GetBalanceAsync(AccountIds.ForAgent(AgentId));
        balance.Posted.ShouldBe(Credits - 500 - 10, "only the spawn's endowment and fee left the account; every bid was cancelled");
        balance.Reserved.ShouldBe(1, "the one credit held for the task the SDK test posted");
        var execution = await db.Set<ExecutionRecord>().AsNoTracking().SingleAsync(e => e.Id == ExecutionId);
        execution.TokensUsed.ShouldBeInRange(1, GrantedTokens);
    }

    [Fact]
    public async Task The_python_template_bids_spawns_asks_and_consults_the_llm_through_the_sdk()
    {
        File.Exists(Python).ShouldBeTrue($"{Python} (Debian's python3) is missing: scripts/ensure-python installs it");
        var envFile = await StartExecutionAsync();
        // The template's folder as a workspace of its own: agent.py runs in it as it would in /workspace.
        var workspace = Directory.CreateDirectory(Path.Combine(_root, "agent-workspace")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot(), "workspaces", "python-agent")))
            File.Copy(file, Path.Combine(workspace, Path.GetFileName(file)));

        var (exit, output) = await RunPythonAsync(envFile, workspace, "agent.py");

        exit.ShouldBe(0, output);
        await using var db = await _app.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
        var bid = await db.Set<BidRecord>().AsNoTracking().SingleAsync(b => b.AgentId == AgentId);
        bid.Status.ShouldBe(BidStatus.Open);
        bid.Amount.ShouldBe(500, "5% of 20,000 credits, capped at 500");
        (await db.Set<AgentRecord>().SingleAsync(a => a.ParentId == AgentId)).Name.ShouldBe($"{AgentId}-child");
        (await db.Set<PromptRecord>().SingleAsync(p => p.AgentId == AgentId)).Question.ShouldContain("python agent");
        (await db.Set<LlmCallRecord>().CountAsync(c => c.ExecutionId == ExecutionId)).ShouldBe(1);
        var journal = await File.ReadAllTextAsync(Path.Combine(workspace, "journal.txt"));
        journal.ShouldContain($"bid 500 for cycle {bid.Cycle}");
        journal.ShouldContain("spawned agt-");
        journal.ShouldContain("asked the human");
        journal.ShouldContain("llm: ");
        JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(workspace, "state.json"))).RootElement
            .GetProperty("prompt").GetString().ShouldStartWith("prm-");
    }

    [Fact]
    public async Task The_python_templates_task_rules_pass_their_offline_tests()
    {
        File.Exists(Python).ShouldBeTrue($"{Python} (Debian's python3) is missing: scripts/ensure-python installs it");
        var sdk = Path.Combine(RepositoryRoot(), "sdk", "python");

        var (exit, output) = await RunPythonAsync(Path.Combine(_root, "no-env.json"), sdk, "-m", "unittest", "-v", "tests/test_python_agent.py");

        exit.ShouldBe(0, output);
        Regex.Match(output, @"^Ran (\d+) tests? in", RegexOptions.Multiline).Groups[1].Value.ShouldBe("7", output);
        output.ShouldContain("\nOK");
        output.ShouldNotContain("skipped");
    }

    [Fact]
    public async Task The_python_template_hands_in_the_simple_task_once_over_two_runs_and_leaves_hostile_tasks_alone()
    {
        File.Exists(Python).ShouldBeTrue($"{Python} (Debian's python3) is missing: scripts/ensure-python installs it");
        var envFile = await StartExecutionAsync();
        // Another agent posts the tasks: the template skips its own.
        using (var poster = new SystemApiClient(OverSocket(), await SeedPosterAsync()))
        {
            TaskVerifierDto Verifier() => new("command", "python", ["python3", "-c", "pass"]);
            await poster.PostTaskAsync(new PostTaskRequest("hello", "Hand in hello.txt.\nfile: hello.txt\ncontent: hello, cyagents", 40, 10, Verifier()));
            await poster.PostTaskAsync(new PostTaskRequest("take over", "file: agent.py\ncontent: import os; os.system('evil')", 90, 10, Verifier()));
            await poster.PostTaskAsync(new PostTaskRequest("escape", "file: ../escape.txt\ncontent: out", 80, 10, Verifier()));
            await poster.PostTaskAsync(new PostTaskRequest("think", "Compute it yourself.\nfile: fib.txt", 70, 10, Verifier()));
        }
        // The API copies submissions from the agent's own workspace folder, so agent.py runs there, as it would in /workspace.
        var workspace = Directory.CreateDirectory(Path.Combine(_root, "workspaces", AgentId)).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot(), "workspaces", "python-agent")))
            File.Copy(file, Path.Combine(workspace, Path.GetFileName(file)));
        var code = await File.ReadAllTextAsync(Path.Combine(workspace, "agent.py"));

        var first = await RunPythonAsync(envFile, workspace, "agent.py");
        var second = await RunPythonAsync(envFile, workspace, "agent.py");

        first.Exit.ShouldBe(0, first.Output);
        second.Exit.ShouldBe(0, second.Output);
        await using var db = await _app.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
        var hello = await db.Set<TaskRecord>().SingleAsync(t => t.Title == "hello");
        var submission = (await db.Set<TaskSubmissionRecord>().Where(s => s.AgentId == AgentId).ToListAsync()).ShouldHaveSingleItem(first.Output + second.Output);
        (submission.TaskId, submission.Path, submission.Files).ShouldBe((hello.Id, "hello.txt", 1));
        (await File.ReadAllTextAsync(Path.Combine(workspace, "hello.txt"))).ShouldBe("hello, cyagents");
        (await File.ReadAllTextAsync(Path.Combine(workspace, "agent.py"))).ShouldBe(code, "a task must never rewrite the agent's code");
        File.Exists(Path.Combine(_root, "workspaces", "escape.txt")).ShouldBeFalse();
        File.Exists(Path.Combine(workspace, "fib.txt")).ShouldBeFalse();
        first.Output.ShouldContain($"handed in hello.txt for task {hello.Id} (40 credits)");
        JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(workspace, "state.json"))).RootElement
            .GetProperty("submitted").EnumerateArray().Select(e => e.GetString()).ShouldBe([hello.Id]);
    }

    /// <summary>A second agent with credits and a running execution, whose token posts tasks; returns the token.</summary>
    private async Task<string> SeedPosterAsync()
    {
        var services = _app.Services;
        await using (var db = await services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync())
        {
            var ledger = services.GetRequiredService<LedgerBinding>()(db);
            db.Add(new AgentRecord { Id = "poster", Name = "poster", RootId = "poster", CreatedAt = DateTimeOffset.UtcNow });
            db.Add(new ExecutionRecord
            {
                Id = "exe-poster", AgentId = "poster", Cycle = 1, Status = ExecutionStatus.Running, Granted = ResourceBundle.Create(cpuMillicores: 250, memoryMiB: 96),
            });
            await db.SaveChangesAsync();
            await ledger.OpenAccountAsync(AccountIds.ForAgent("poster"), AccountKind.Agent);
            await ledger.TransferAsync(new TransferRequest("seed:poster", AccountIds.Treasury, AccountIds.ForAgent("poster"), 1000, TransferKind.Endowment));
        }
        return (await services.GetRequiredService<AgentTokenService>().IssueAsync("poster", "exe-poster", 1)).Token;
    }

    private HttpClient OverSocket() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream,
                System.Net.Sockets.ProtocolType.Unspecified);
            await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(_socket), ct);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://localhost") };

    /// <summary>Seeds the agent and a running execution, issues its token and writes its env.json as the orchestrator does.</summary>
    private async Task<string> StartExecutionAsync()
    {
        var services = _app.Services;
        await using (var db = await services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync())
        {
            var ledger = services.GetRequiredService<LedgerBinding>()(db);
            db.Add(new AgentRecord { Id = AgentId, Name = AgentId, RootId = AgentId, CreatedAt = DateTimeOffset.UtcNow });
            db.Add(new ExecutionRecord
            {
                Id = ExecutionId, AgentId = AgentId, Cycle = 1, Status = ExecutionStatus.Running,
                Granted = ResourceBundle.Create(cpuMillicores: 250, memoryMiB: 96, tokens: GrantedTokens, attentionBasisPoints: GrantedAttention),
            });
            await db.SaveChangesAsync();
            await ledger.OpenAccountAsync(AccountIds.ForAgent(AgentId), AccountKind.Agent);
            await ledger.TransferAsync(new TransferRequest($"seed:{AgentId}", AccountIds.Treasury, AccountIds.ForAgent(AgentId), Credits,
                TransferKind.Endowment));
        }
        var token = (await services.GetRequiredService<AgentTokenService>().IssueAsync(AgentId, ExecutionId, 1)).Token;
        var environment = new AgentEnvironment
        {
            AgentId = AgentId, ExecutionId = ExecutionId, Token = token, Cycle = 1, NextCycle = 2,
            Bundle = new ResourceBundleDto(250, 96, GrantedTokens, GrantedAttention), Balance = new BalanceView(Credits, 0, Credits),
            Prices = new PricesView(0.05, 0.1, 0.01, 1), ApiSocket = _socket, Deadline = DateTimeOffset.UtcNow.AddMinutes(5),
        };
        var file = Path.Combine(_root, AgentEnvironment.FileName);
        await File.WriteAllBytesAsync(file, JsonSerializer.SerializeToUtf8Bytes(environment, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        return file;
    }

    /// <summary>Runs Debian's python3 with the SDK on PYTHONPATH (as the python runtime image has it) and the context's path in CYAGENTS_ENV.</summary>
    private static async Task<(int Exit, string Output)> RunPythonAsync(string envFile, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Python)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment[AgentEnvironment.Variable] = envFile;
        start.Environment["PYTHONPATH"] = Path.Combine(RepositoryRoot(), "sdk", "python");
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("python ran for more than 3 minutes:\n" + await stderr);
        }
        // unittest reports on stderr: one "name (module.Class.name) ... ok" line per test, then "Ran N tests" and OK.
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CyAgents.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("CyAgents.sln not found above the test folder");
    }
}
