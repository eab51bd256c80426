using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Tasks;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Sandbox.Runtimes;
using CyAgents.Orchestrator.Tasks;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Tasks;
using CyAgents.SystemApi.Tasks;
using CyAgents.SystemApi.Workspaces;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// Task verifiers on the real engine (ADR 0133): the task's command runs in the python runtime over a read-only copy of the
/// submission, without the API; exit 0 pays the reward once, anything else pays nothing.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class TaskVerifierTests(DockerFixture docker) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-verifier-").FullName;
    private DatabaseOptions _database = null!;
    private TaskOptions _options = null!;

    public async Task InitializeAsync()
    {
        _database = DatabaseOptions.ForSqliteFile(Path.Combine(_root, "cyagents.db"));
        _options = new TaskOptions { SubmissionsRoot = Path.Combine(_root, "submissions"), VerifierTimeoutSeconds = 5 };
        await DatabaseSetup.EnsureCreatedAsync(_database);
        await using var db = Open();
        var ledger = new EfLedger(db);
        foreach (var agent in new[] { "alice", "bob", "carol" }) await ledger.OpenAccountAsync(AccountIds.ForAgent(agent), AccountKind.Agent);
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    private const string HelloCheck = "import sys; sys.exit(0 if open('hello.txt').read() == 'hello' else 1)";

    [Fact]
    public async Task A_failing_verifier_pays_nothing_and_the_first_pass_is_paid_once()
    {
        await PostAsync("t1", 120, ["python3", "-c", HelloCheck]);
        await SubmitAsync("t1", "alice", "sub-1", "hello.txt", "goodbye");
        await SubmitAsync("t1", "bob", "sub-2", "hello.txt", "hello");
        await SubmitAsync("t1", "carol", "sub-3", "hello.txt", "hello");
        var step = Step();

        (await step.VerifyPendingAsync(5, default)).ShouldBe(3);
        (await step.VerifyPendingAsync(5, default)).ShouldBe(0);

        var subs = await SubmissionsAsync();
        subs["sub-1"].State.ShouldBe(SubmissionState.Failed);
        subs["sub-1"].ExitCode.ShouldBe(1);
        subs["sub-2"].State.ShouldBe(SubmissionState.Awarded);
        subs["sub-2"].ExitCode.ShouldBe(0);
        subs["sub-3"].State.ShouldBe(SubmissionState.Failed, "the task was awarded before it was verified");
        (await AvailableAsync("alice")).ShouldBe(0);
        (await AvailableAsync("bob")).ShouldBe(120);
        (await AvailableAsync("carol")).ShouldBe(0);
        await ConservationHoldsAsync();
        // Judged copies are removed from the host.
        Directory.GetFileSystemEntries(_options.SubmissionsRoot).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_verifier_can_neither_change_the_submission_nor_reach_the_api_nor_run_forever()
    {
        await PostAsync("write", 50, ["python3", "-c", "open('hello.txt', 'a').write('!')"]);
        await PostAsync("api", 50, ["python3", "-c", "import os, sys; sys.exit(0 if os.path.isdir('/run/cyagents') and os.listdir('/run/cyagents') else 3)"]);
        await PostAsync("net", 50, ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 5080), 2)"]);
        await PostAsync("loop", 50, ["python3", "-c", "while True: pass"]);
        foreach (var (task, sid) in new[] { ("write", "sub-w"), ("api", "sub-a"), ("net", "sub-n"), ("loop", "sub-l") })
            await SubmitAsync(task, "alice", sid, "hello.txt", "hello");

        (await Step().VerifyPendingAsync(5, default)).ShouldBe(4);

        var subs = await SubmissionsAsync();
        foreach (var s in subs.Values) s.State.ShouldBe(SubmissionState.Failed, $"{s.Id}: exit {s.ExitCode}: {s.Verdict}");
        // The copy is mode 0444 and owned by root, on a read-only mount: either refusal stops the write.
        subs["sub-w"].Verdict!.ShouldMatch("PermissionError|Read-only file system");
        subs["sub-a"].ExitCode.ShouldBe(3);
        subs["sub-l"].Verdict!.ShouldContain("longer than 5 s");
        (await AvailableAsync("alice")).ShouldBe(0);
        await ConservationHoldsAsync();
    }

    [Fact]
    public async Task At_the_deadline_the_unawarded_reward_returns_and_waiting_work_expires()
    {
        await PostAsync("t1", 90, ["python3", "-c", HelloCheck], deadlineCycles: 2); // open through cycle 5
        await SubmitAsync("t1", "alice", "sub-1", "hello.txt", "hello");
        var step = Step();

        (await step.ExpireDueAsync(5, default)).ShouldBe(0);
        (await step.ExpireDueAsync(6, default)).ShouldBe(1);
        (await step.VerifyPendingAsync(6, default)).ShouldBe(0);

        (await SubmissionsAsync())["sub-1"].State.ShouldBe(SubmissionState.Expired);
        await using var db = Open();
        (await db.Set<TaskRecord>().SingleAsync()).State.ShouldBe(TaskState.Expired);
        (await new EfLedger(db).GetBalanceAsync(AccountIds.Treasury)).Reserved.ShouldBe(0);
        (await AvailableAsync("alice")).ShouldBe(0);
        await ConservationHoldsAsync();
    }

    private TaskVerification Step()
    {
        
        var options = new SandboxOptions { Image = docker.Image, ApiSocketFolder = Directory.CreateDirectory(Path.Combine(_root, "api")).FullName };
        return new TaskVerification(new Databases(_database), db => new EfLedger(db),
            new DockerSandbox(docker.Engine, options, NullLogger<DockerSandbox>.Instance),
            new RuntimeImages(docker.Engine, new RuntimeImagesOptions(), NullLogger<RuntimeImages>.Instance), _options,
            NullLogger<TaskVerification>.Instance, TimeProvider.System);
    }

    private CyAgentsDbContext Open() => new(_database.BuildOptions());

    private async Task PostAsync(string id, long reward, IReadOnlyList<string> command, int deadlineCycles = 5)
    {
        await using var db = Open();
        await using var tx = await db.Database.BeginTransactionAsync();
        await new TaskBoard(db, new EfLedger(db)).PostAsync(new TaskTerms(id, null, id, "", reward, 3, deadlineCycles, VerifierKind.Command,
            "python", command, At), default);
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    /// <summary>What the submit endpoint does on the host: the link-refusing copy, made read-only, and the record.</summary>
    private async Task SubmitAsync(string taskId, string agent, string sid, string file, string content)
    {
        var workspace = Directory.CreateDirectory(Path.Combine(_root, "workspaces", agent + "-" + sid)).FullName;
        File.WriteAllText(Path.Combine(workspace, file), content);
        var folder = Directory.CreateDirectory(Path.Combine(_options.SubmissionsRoot, sid)).FullName;
        var (files, bytes) = HostileTreeCopy.CopyEntry(workspace, file, folder, _options.SubmissionLimits);
        SubmissionPath.MakeReadOnly(folder);
        await using var db = Open();
        var task = await db.Set<TaskRecord>().SingleAsync(t => t.Id == taskId);
        new TaskBoard(db, new EfLedger(db)).Submit(task, sid, agent, null, 4, file, files, bytes, At);
        await db.SaveChangesAsync();
    }

    private async Task<Dictionary<string, TaskSubmissionRecord>> SubmissionsAsync()
    {
        await using var db = Open();
        return await db.Set<TaskSubmissionRecord>().ToDictionaryAsync(s => s.Id);
    }

    private async Task<long> AvailableAsync(string agent)
    {
        await using var db = Open();
        return (await new EfLedger(db).GetBalanceAsync(AccountIds.ForAgent(agent))).Available;
    }

    private async Task ConservationHoldsAsync()
    {
        await using var db = Open();
        (await new EfLedger(db).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    private sealed class Databases(DatabaseOptions options) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext() => new(options.BuildOptions());
    }
}
