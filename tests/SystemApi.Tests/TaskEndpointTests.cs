using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

public sealed class TaskEndpointTests : IAsyncDisposable
{
    private readonly ApiFactory _api;
    private readonly string _submissions;

    public TaskEndpointTests()
    {
        _submissions = Path.Combine(Path.GetTempPath(), "cyagents-submissions-" + Guid.NewGuid().ToString("N"));
        _api = new ApiFactory(new Dictionary<string, string?>
        {
            ["Tasks:SubmissionsRoot"] = _submissions,
            ["Tasks:MaxSubmissionBytes"] = "65536",
            ["Tasks:MaxSubmissionsPerAgent"] = "2",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        try { Directory.Delete(_submissions, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private static PostTaskRequest Hello(long reward = 50, int deadline = 5) => new("write hello.txt", "hello.txt holding 'hello'", reward, deadline,
        new TaskVerifierDto("command", "python", ["python3", "-c", "import sys; sys.exit(open('hello.txt').read() != 'hello')"]));

    private static PostTaskRequest Reviewed(long reward = 50) => new("a haiku", "poem.txt", reward, 5, new TaskVerifierDto("human"));

    private string Workspace(string agent)
    {
        var folder = Path.Combine(_api.WorkspacesRoot, agent);
        Directory.CreateDirectory(folder);
        return folder;
    }

    [Fact]
    public async Task An_agent_posts_a_task_from_its_available_credits_and_every_caller_lists_it()
    {
        var poster = _api.TypedClient(await _api.AgentTokenAsync("poster", 200));
        var other = _api.TypedClient(await _api.AgentTokenAsync("other", 0));

        var task = await poster.PostTaskAsync(Hello(80));

        task.State.ShouldBe("Open");
        task.PosterAgentId.ShouldBe("poster");
        task.Verifier.Command!.Count.ShouldBe(3);
        var balance = await poster.GetBalanceAsync();
        (balance.Posted, balance.Reserved, balance.Available).ShouldBe((200L, 80L, 120L));
        (await other.GetTasksAsync()).Items.Select(t => t.Id).ShouldBe([task.Id]);
        (await _api.TypedClient(ApiFactory.OperatorSecret).GetTaskAsync(task.Id)).Reward.ShouldBe(80);
        (await poster.GetTransactionsAsync()).Items[0].Kind.ShouldBe(nameof(TransferKind.TaskEscrow));
        (await (await _api.LedgerAsync()).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_reward_beyond_the_available_credits_is_refused_and_changes_nothing()
    {
        var token = await _api.AgentTokenAsync("poster", 50);
        var before = await _api.SnapshotAsync();

        var response = await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Tasks, Hello(51));

        await response.ShouldBeProblemAsync(HttpStatusCode.PaymentRequired, ErrorCodes.InsufficientFunds);
        (await _api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Bad_terms_are_refused_field_by_field()
    {
        var token = await _api.AgentTokenAsync("poster", 500);
        var response = await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Tasks,
            new PostTaskRequest("", null, 0, 0, new TaskVerifierDto("command", "cobol", [])));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        foreach (var field in new[] { "title", "reward", "deadlineCycles", "verifier.command", "verifier.runtime" })
            problem.FieldErrors(field).ShouldNotBeEmpty();
        (await _api.AvailableAsync("poster")).ShouldBe(500);
    }

    [Fact]
    public async Task The_operator_posts_from_the_treasury()
    {
        var op = _api.TypedClient(ApiFactory.OperatorSecret);
        var task = await op.PostTaskAsync(Hello(70));
        task.PosterAgentId.ShouldBeNull();
        (await (await _api.LedgerAsync()).GetBalanceAsync(AccountIds.Treasury)).Reserved.ShouldBe(70);
    }

    [Fact]
    public async Task A_submission_is_copied_at_submit_time_and_waits_for_its_verdict()
    {
        var task = await _api.TypedClient(ApiFactory.OperatorSecret).PostTaskAsync(Hello());
        var alice = _api.TypedClient(await _api.AgentTokenAsync("alice"));
        var ws = Workspace("alice");
        Directory.CreateDirectory(Path.Combine(ws, "out"));
        File.WriteAllText(Path.Combine(ws, "out", "hello.txt"), "hello");

        var submitted = await alice.SubmitWorkAsync(task.Id, new SubmitWorkRequest("/workspace/out/hello.txt"));
        File.WriteAllText(Path.Combine(ws, "out", "hello.txt"), "changed after submitting");

        (submitted.State, submitted.Path, submitted.Files, submitted.Bytes).ShouldBe(("Pending", "out/hello.txt", 1, 5L));
        var copy = Path.Combine(_submissions, submitted.Id, "out", "hello.txt");
        File.ReadAllText(copy).ShouldBe("hello");
        File.GetUnixFileMode(copy).ShouldBe(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        (await alice.GetSubmissionsAsync(task.Id)).Items.Single().Id.ShouldBe(submitted.Id);
    }

    [Fact]
    public async Task Hostile_submissions_are_refused_without_harm()
    {
        var task = await _api.TypedClient(ApiFactory.OperatorSecret).PostTaskAsync(Hello());
        var token = await _api.AgentTokenAsync("mallory");
        var ws = Workspace("mallory");
        File.CreateSymbolicLink(Path.Combine(ws, "shadow"), "/etc/shadow");
        Directory.CreateDirectory(Path.Combine(ws, "dir"));
        File.CreateSymbolicLink(Path.Combine(ws, "dir", "passwd"), "/etc/passwd");
        Directory.CreateSymbolicLink(Path.Combine(ws, "etc"), "/etc");
        Assert.Equal(0, mkfifo(Path.Combine(ws, "pipe"), 0x1b6));
        using (var huge = File.Create(Path.Combine(ws, "huge.bin"))) huge.SetLength(65537);
        var before = await _api.SnapshotAsync();

        foreach (var path in new[] { "shadow", "dir", "etc/passwd", "etc", "pipe", "huge.bin", "missing.txt" })
        {
            var response = await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.TaskSubmissions(task.Id), new SubmitWorkRequest(path));
            await response.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ErrorCodes.SubmissionRefused);
        }
        foreach (var path in new[] { "../alice/x", "/etc/shadow", "a/../../b" })
        {
            var response = await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.TaskSubmissions(task.Id), new SubmitWorkRequest(path));
            await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        }

        (await _api.SnapshotAsync()).ShouldBe(before);
        (Directory.Exists(_submissions) ? Directory.GetFileSystemEntries(_submissions) : []).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_closed_task_and_a_used_up_allowance_are_refused_with_their_codes()
    {
        var task = await _api.TypedClient(ApiFactory.OperatorSecret).PostTaskAsync(Reviewed());
        var token = await _api.AgentTokenAsync("alice");
        File.WriteAllText(Path.Combine(Workspace("alice"), "poem.txt"), "an old pond");
        var client = _api.TypedClient(token);
        var op = _api.TypedClient(ApiFactory.OperatorSecret);

        var first = await client.SubmitWorkAsync(task.Id, new SubmitWorkRequest("poem.txt"));
        var waiting = await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.TaskSubmissions(task.Id), new SubmitWorkRequest("poem.txt"));
        await waiting.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ErrorCodes.SubmissionLimit);
        await op.ReviewSubmissionAsync(task.Id, first.Id, new ReviewSubmissionRequest(false, "not a haiku"));
        var second = await client.SubmitWorkAsync(task.Id, new SubmitWorkRequest("poem.txt"));
        await op.ReviewSubmissionAsync(task.Id, second.Id, new ReviewSubmissionRequest(false));
        var third = await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.TaskSubmissions(task.Id), new SubmitWorkRequest("poem.txt"));
        await third.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ErrorCodes.SubmissionLimit);

        var other = await op.PostTaskAsync(Reviewed());
        var bob = _api.TypedClient(await _api.AgentTokenAsync("bob"));
        File.WriteAllText(Path.Combine(Workspace("bob"), "poem.txt"), "frog");
        var win = await bob.SubmitWorkAsync(other.Id, new SubmitWorkRequest("poem.txt"));
        await op.ReviewSubmissionAsync(other.Id, win.Id, new ReviewSubmissionRequest(true));
        var late = await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.TaskSubmissions(other.Id), new SubmitWorkRequest("poem.txt"));
        await late.ShouldBeProblemAsync(HttpStatusCode.Conflict, ErrorCodes.TaskClosed);
    }

    [Fact]
    public async Task A_rejected_review_pays_nothing_and_an_approval_pays_once_even_when_replayed_or_repeated()
    {
        var op = _api.TypedClient(ApiFactory.OperatorSecret);
        var task = await op.PostTaskAsync(Reviewed(60));
        var alice = _api.TypedClient(await _api.AgentTokenAsync("alice"));
        var bob = _api.TypedClient(await _api.AgentTokenAsync("bob"));
        File.WriteAllText(Path.Combine(Workspace("alice"), "poem.txt"), "an old pond");
        File.WriteAllText(Path.Combine(Workspace("bob"), "poem.txt"), "a frog jumps in");
        var a = await alice.SubmitWorkAsync(task.Id, new SubmitWorkRequest("poem.txt"));
        var b = await bob.SubmitWorkAsync(task.Id, new SubmitWorkRequest("poem.txt"));

        (await op.ReviewSubmissionAsync(task.Id, a.Id, new ReviewSubmissionRequest(false, "too short"))).State.ShouldBe("Failed");
        (await _api.AvailableAsync("alice")).ShouldBe(0);

        // The same approval sent four times at once with one key: one effect, three replays of its answer.
        async Task<HttpResponseMessage> Approve(string? key)
        {
            var client = _api.ClientWith(ApiFactory.OperatorSecret);
            if (key is not null) client.DefaultRequestHeaders.Add(ApiRoutes.IdempotencyKeyHeader, key);
            return await client.PostAsJsonAsync(ApiRoutes.ReviewSubmission(task.Id, b.Id), new ReviewSubmissionRequest(true));
        }
        var replayed = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Approve("approve-b")));
        replayed.ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK);
        (await Task.WhenAll(replayed.Select(r => r.Content.ReadAsStringAsync()))).Distinct().Count().ShouldBe(1);
        // Fresh approvals of the judged submission, at once: all refused.
        var again = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Approve(null)));
        again.ShouldAllBe(r => r.StatusCode == HttpStatusCode.Conflict);

        (await _api.AvailableAsync("bob")).ShouldBe(60);
        var closed = await op.GetTaskAsync(task.Id);
        (closed.State, closed.WinnerAgentId, closed.WinnerSubmissionId).ShouldBe(("Awarded", "bob", b.Id));
        (await bob.GetTransactionsAsync()).Items[0].Kind.ShouldBe(nameof(TransferKind.TaskReward));
        (await (await _api.LedgerAsync()).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task The_operator_cannot_submit_and_an_agent_cannot_review()
    {
        var task = await _api.TypedClient(ApiFactory.OperatorSecret).PostTaskAsync(Reviewed());
        var token = await _api.AgentTokenAsync("alice");
        await (await _api.ClientWith(ApiFactory.OperatorSecret).PostAsJsonAsync(ApiRoutes.TaskSubmissions(task.Id), new SubmitWorkRequest("x")))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await (await _api.ClientWith(token).PostAsJsonAsync(ApiRoutes.ReviewSubmission(task.Id, "sub-x"), new ReviewSubmissionRequest(true)))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);
}
