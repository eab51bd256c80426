using CyAgents.Contracts;
using System.Diagnostics;
using System.Text.Json;
using CyAgents.Contracts.Sandbox;

namespace CyAgents.GenesisAgent.Tests;

public sealed class AgentTurnTests : IDisposable
{
    private readonly string _workspace = Directory.CreateTempSubdirectory("genesis-ws-").FullName;
    private readonly FakeApi _api = new();

    public AgentTurnTests() => _api.Workspace = _workspace;

    private static TaskResponse OpenTask(string id, string description, long reward = 100, string? poster = null) =>
        new(id, id, description, reward, poster, 1, 30, new TaskVerifierDto("command", "python", ["python3", "-c", "pass"]), "Open", null, null,
            $"task:{id}:escrow");

    private static AgentEnvironment Env(long available = 10_000) => new()
    {
        AgentId = "genesis", ExecutionId = "c1-x", Token = "tok", Cycle = 1, NextCycle = 2,
        Bundle = new ResourceBundleDto(250, 96, 0, 0), Balance = new BalanceView(available, 0, available),
        Prices = new PricesView(0.01, 0.005, 0, 0), ApiSocket = "/nowhere/api.sock", Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
    };

    private Task<int> RunAsync(Strategy strategy, AgentEnvironment? env = null) =>
        new AgentTurn(_api, env ?? Env(), strategy, _workspace, TextWriter.Null).RunAsync(default);

    [Fact]
    public async Task With_tokens_won_it_asks_the_llm_once_and_journals_the_answer_while_the_bid_stays_the_same()
    {
        _api.Available = 10_000;
        var strategy = new Strategy { BidFraction = 0.05, LlmQuestion = "Is the market calm?", LlmMaxTokens = 20 };

        (await RunAsync(strategy, Env() with { Bundle = new ResourceBundleDto(250, 96, 500, 0) })).ShouldBe(0);

        _api.LlmQuestions.ShouldHaveSingleItem().ShouldBe(("echo", "Is the market calm?", 20));
        _api.Bids.ShouldHaveSingleItem().Amount.ShouldBe(500L);
        File.ReadAllText(Path.Combine(_workspace, "journal")).ShouldContain("asked the llm (9 tokens): echo: Is the market calm?");
    }

    [Fact]
    public async Task Without_tokens_won_it_does_not_ask_the_llm()
    {
        (await RunAsync(new Strategy { LlmQuestion = "Is the market calm?" })).ShouldBe(0);

        _api.LlmQuestions.ShouldBeEmpty();
    }

    [Fact]
    public async Task It_bids_its_share_of_the_balance_for_the_next_cycle_and_writes_a_journal_line()
    {
        _api.Available = 10_000;

        (await RunAsync(new Strategy { BidFraction = 0.05, Bundle = new ResourceBundleDto(500, 128, 0, 0) })).ShouldBe(0);

        var bid = _api.Bids.ShouldHaveSingleItem();
        bid.ShouldBe((2L, new ResourceBundleDto(500, 128, 0, 0), 500L));
        var journal = File.ReadAllLines(Path.Combine(_workspace, "journal")).ShouldHaveSingleItem();
        journal.ShouldContain("bid 500 for cycle 2");
    }

    [Fact]
    public void The_bid_stays_within_the_budget()
    {
        var turn = new AgentTurn(_api, Env(), new Strategy { BidFraction = 0.5, MinBid = 20 }, _workspace, TextWriter.Null);

        turn.BidAmount(1000).ShouldBe(500);
        turn.BidAmount(30).ShouldBe(20);
        turn.BidAmount(10).ShouldBe(0);
        turn.BidAmount(0).ShouldBe(0);
    }

    [Fact]
    public async Task It_spawns_once_its_balance_passes_the_threshold_and_only_up_to_its_child_limit()
    {
        _api.Available = 10_000;
        var strategy = new Strategy { SpawnThreshold = 5000, ChildEndowment = 1000, MaxChildren = 1 };

        await RunAsync(strategy);
        await RunAsync(strategy);

        _api.Spawns.ShouldHaveSingleItem().ShouldBe(("genesis-child-1", 1000L));
        File.ReadAllLines(Path.Combine(_workspace, "journal")).Length.ShouldBe(2);
    }

    [Fact]
    public async Task It_does_not_spawn_below_the_threshold()
    {
        _api.Available = 4000;

        await RunAsync(new Strategy { SpawnThreshold = 5000 });

        _api.Spawns.ShouldBeEmpty();
    }

    [Fact]
    public async Task It_asks_the_human_when_its_strategy_has_a_prompt()
    {
        await RunAsync(new Strategy { Prompt = "Which resource should I buy?" }, Env() with { Bundle = new ResourceBundleDto(250, 96, 0, 200) });

        _api.Prompts.ShouldHaveSingleItem().ShouldBe("Which resource should I buy?");
    }

    [Fact]
    public async Task It_does_not_ask_the_human_when_its_bundle_won_no_attention()
    {
        await RunAsync(new Strategy { Prompt = "Which resource should I buy?" });

        _api.Prompts.ShouldBeEmpty();
    }

    [Fact]
    public void The_strategy_template_in_the_repository_parses_and_spawns_a_bidding_child()
    {
        var template = Path.Combine(RepositoryRoot(), "workspaces", "genesis", "strategy.json");

        var strategy = JsonSerializer.Deserialize(File.ReadAllText(template), AgentJson.Default.Strategy).ShouldNotBeNull();

        strategy.SpawnThreshold.ShouldNotBeNull();
        strategy.Test.ShouldBeNull();
        strategy.ChildStrategy.ShouldNotBeNull();
        var child = strategy.ChildStrategy.Value.Deserialize(AgentJson.Default.Strategy).ShouldNotBeNull();
        child.SpawnThreshold.ShouldBeNull();
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{ "bundle": null, "llmModel": null }""")]
    public async Task A_strategy_file_without_a_setting_keeps_its_default_and_bids_for_the_default_bundle(string json)
    {
        var strategy = Strategy.Parse(json);

        strategy.Bundle.ShouldBe(Strategy.DefaultBundle);
        strategy.LlmModel.ShouldBe("echo");
        strategy.BidFraction.ShouldBe(new Strategy().BidFraction);
        strategy.MinBid.ShouldBe(new Strategy().MinBid);
        var log = new StringWriter();
        (await new AgentTurn(_api, Env(), strategy, _workspace, log).RunAsync(default)).ShouldBe(0, log.ToString());
        _api.Bids.ShouldHaveSingleItem(log.ToString()).Bundle.ShouldBe(Strategy.DefaultBundle);
    }

    [Fact]
    public async Task A_memory_file_without_children_is_read_as_no_children()
    {
        File.WriteAllText(Path.Combine(_workspace, AgentMemory.FileName), """{ "runs": 3 }""");

        (await RunAsync(new Strategy { SpawnThreshold = 500, ChildEndowment = 100 })).ShouldBe(0);

        _api.Spawns.ShouldHaveSingleItem();
        File.ReadAllText(Path.Combine(_workspace, AgentMemory.FileName)).ShouldContain("\"runs\": 4");
    }

    [Fact]
    public async Task An_unreachable_api_is_a_clear_message_and_a_non_zero_exit()
    {
        File.WriteAllText(Path.Combine(_workspace, "env.json"), JsonSerializer.Serialize(Env(), AgentJson.Default.AgentEnvironment));
        var agent = Path.Combine(AppContext.BaseDirectory, "genesis-agent.dll");
        var psi = new ProcessStartInfo("dotnet") { ArgumentList = { agent, "--workspace", _workspace }, RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        process.ExitCode.ShouldBe(3);
        stderr.ShouldContain("cannot reach the System API on /nowhere/api.sock");
    }

    [Fact]
    public async Task A_missing_env_json_is_a_clear_message_and_a_non_zero_exit()
    {
        var agent = Path.Combine(AppContext.BaseDirectory, "genesis-agent.dll");
        var psi = new ProcessStartInfo("dotnet") { ArgumentList = { agent, "--workspace", _workspace }, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        process.ExitCode.ShouldBe(2);
        stderr.ShouldContain("env.json");
    }

    [Fact]
    public async Task It_writes_the_file_a_simple_task_names_and_hands_it_in_once_however_often_it_runs()
    {
        _api.OpenTasks.Add(OpenTask("feed-hello-file", "Write it.\nfile: hello.txt\ncontent: hello, cyagents", 400));
        _api.OpenTasks.Add(OpenTask("feed-fibonacci-30", "Compute it yourself: no content line is given.\nfile: fib.txt", 500));

        (await RunAsync(new Strategy())).ShouldBe(0);
        (await RunAsync(new Strategy())).ShouldBe(0);

        var submission = _api.Submissions.ShouldHaveSingleItem();
        submission.ShouldBe(("feed-hello-file", "hello.txt", "genesis:task:feed-hello-file", "hello, cyagents"));
        File.ReadAllText(Path.Combine(_workspace, "hello.txt")).ShouldBe("hello, cyagents");
        File.Exists(Path.Combine(_workspace, "fib.txt")).ShouldBeFalse("a task without a content line is not mechanical");
        File.ReadAllText(Path.Combine(_workspace, "journal")).ShouldContain("handed in hello.txt for task feed-hello-file (400 credits): sub-1");
    }

    [Fact]
    public async Task A_rerun_after_a_crash_before_memory_was_written_replays_the_same_idempotency_key()
    {
        _api.OpenTasks.Add(OpenTask("t1", "file: a.txt\ncontent: A"));
        await RunAsync(new Strategy());
        File.Delete(Path.Combine(_workspace, AgentMemory.FileName)); // the turn died before memory.json was written

        await RunAsync(new Strategy());

        _api.SubmitKeys.ShouldBe(["genesis:task:t1", "genesis:task:t1"]);
        _api.Submissions.ShouldHaveSingleItem();
    }

    [Fact]
    public async Task It_does_not_do_its_own_tasks_and_stops_at_its_limit_per_turn_best_paid_first()
    {
        _api.OpenTasks.Add(OpenTask("mine", "file: m.txt\ncontent: m", 900, poster: "genesis"));
        _api.OpenTasks.Add(OpenTask("cheap", "file: c.txt\ncontent: c", 10));
        _api.OpenTasks.Add(OpenTask("dear", "file: d.txt\ncontent: d", 500));

        await RunAsync(new Strategy { MaxTasksPerTurn = 1 });
        _api.Submissions.Select(s => s.TaskId).ShouldBe(["dear"]);

        await RunAsync(new Strategy { MaxTasksPerTurn = 1 });
        _api.Submissions.Select(s => s.TaskId).ShouldBe(["dear", "cheap"]);
    }

    [Fact]
    public async Task A_task_closed_is_not_tried_again_but_a_passing_failure_is()
    {
        _api.OpenTasks.Add(OpenTask("closed", "file: x.txt\ncontent: x"));
        _api.OpenTasks.Add(OpenTask("flaky", "file: y.txt\ncontent: y"));
        _api.Refuse["closed"] = ErrorCodes.TaskClosed;
        _api.Refuse["flaky"] = ErrorCodes.RateLimited;

        (await RunAsync(new Strategy())).ShouldBe(0);
        _api.Submissions.ShouldBeEmpty();
        (await RunAsync(new Strategy())).ShouldBe(0);

        _api.Submissions.Select(s => s.TaskId).ShouldBe(["flaky"]);
    }

    [Theory]
    [InlineData("strategy.json")]
    [InlineData("README.md")]
    [InlineData("journal")]
    public async Task A_task_naming_one_of_the_agents_own_files_is_refused_and_the_file_is_left_alone(string name)
    {
        var path = Path.Combine(_workspace, name);
        File.WriteAllText(path, "the agent's own");
        _api.OpenTasks.Add(OpenTask("hostile", $"file: {name}\ncontent: taken over"));

        (await RunAsync(new Strategy())).ShouldBe(0);

        _api.Submissions.ShouldBeEmpty();
        File.ReadAllText(path).ShouldStartWith("the agent's own");
        File.ReadAllText(path).ShouldNotContain("taken over");
    }

    [Fact]
    public async Task A_file_already_in_the_workspace_is_not_overwritten_unless_it_was_written_for_a_task()
    {
        File.WriteAllText(Path.Combine(_workspace, "notes.txt"), "mine");
        _api.OpenTasks.Add(OpenTask("t1", "file: notes.txt\ncontent: theirs"));
        _api.OpenTasks.Add(OpenTask("t2", "file: out.txt\ncontent: one"));
        await RunAsync(new Strategy());
        _api.OpenTasks.Add(OpenTask("t3", "file: out.txt\ncontent: two"));

        await RunAsync(new Strategy());

        File.ReadAllText(Path.Combine(_workspace, "notes.txt")).ShouldBe("mine");
        _api.Submissions.Select(s => (s.TaskId, s.Content)).ShouldBe([("t2", "one"), ("t3", "two")]);
    }

    [Fact]
    public async Task A_child_whose_workspace_copied_its_parents_memory_does_the_tasks_its_parent_did()
    {
        _api.OpenTasks.Add(OpenTask("t1", "file: a.txt\ncontent: A"));
        await RunAsync(new Strategy());

        await RunAsync(new Strategy(), Env() with { AgentId = "genesis-child-1" });

        _api.Submissions.Select(s => s.Key).ShouldBe(["genesis:task:t1", "genesis-child-1:task:t1"]);
    }

    [Fact]
    public async Task With_tasks_switched_off_it_hands_in_nothing()
    {
        _api.OpenTasks.Add(OpenTask("t1", "file: a.txt\ncontent: A"));

        await RunAsync(new Strategy { DoTasks = false });

        _api.Submissions.ShouldBeEmpty();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "workspaces", "genesis"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public void Dispose() => Directory.Delete(_workspace, recursive: true);

    private sealed class FakeApi : IAgentApi
    {
        public long Available { get; set; } = 1000;
        public List<(long Cycle, ResourceBundleDto Bundle, long Amount)> Bids { get; } = [];
        public List<(string Name, long Endowment)> Spawns { get; } = [];
        public List<string> Prompts { get; } = [];

        public Task<PricesView> GetPricesAsync(CancellationToken ct) => Task.FromResult(new PricesView(0.01, 0.005, 0, 0));
        public Task<BalanceView> GetBalanceAsync(CancellationToken ct) => Task.FromResult(new BalanceView(Available, 0, Available));

        public Task<string> PlaceBidAsync(long cycle, ResourceBundleDto bundle, long amount, string idempotencyKey, CancellationToken ct)
        {
            Bids.Add((cycle, bundle, amount));
            return Task.FromResult($"bid-{Bids.Count}");
        }

        public Task<string> SpawnAsync(string name, long endowment, JsonElement? strategy, string idempotencyKey, CancellationToken ct)
        {
            Spawns.Add((name, endowment));
            Available -= endowment;
            return Task.FromResult($"child-{Spawns.Count}");
        }

        public Task<string> PostPromptAsync(string question, string idempotencyKey, CancellationToken ct)
        {
            Prompts.Add(question);
            return Task.FromResult("p1");
        }

        public List<(string Model, string Question, int MaxTokens)> LlmQuestions { get; } = [];
        public List<TaskResponse> OpenTasks { get; } = [];
        public List<(string TaskId, string Path, string Key, string Content)> Submissions { get; } = [];
        /// <summary>Task id → the error code the next submission to it is refused with.</summary>
        public Dictionary<string, string> Refuse { get; } = [];
        public string Workspace { get; set; } = "";
        public List<string> SubmitKeys { get; } = [];

        public Task<IReadOnlyList<TaskResponse>> GetOpenTasksAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<TaskResponse>>(OpenTasks.ToList());

        public Task<string> SubmitAsync(string taskId, string path, string idempotencyKey, CancellationToken ct)
        {
            SubmitKeys.Add(idempotencyKey);
            if (Refuse.Remove(taskId, out var code)) throw new AgentApiException($"refused: {code}", code);
            // The API replays a repeated key; what it copies is the file as the agent left it.
            var earlier = Submissions.FindIndex(s => s.Key == idempotencyKey);
            if (earlier >= 0) return Task.FromResult($"sub-{earlier + 1}");
            Submissions.Add((taskId, path, idempotencyKey, File.ReadAllText(Path.Combine(Workspace, path))));
            return Task.FromResult($"sub-{Submissions.Count}");
        }

        public Task<(string Answer, long Tokens)> AskLlmAsync(string model, string question, int maxTokens, CancellationToken ct)
        {
            LlmQuestions.Add((model, question, maxTokens));
            return Task.FromResult(("echo: " + question, 9L));
        }
    }
}
