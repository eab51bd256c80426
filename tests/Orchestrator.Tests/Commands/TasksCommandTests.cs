using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Tasks;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Commands;

public sealed class TasksCommandTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("cyagents-tasks-cli-").FullName;
    private string Db => Path.Combine(_data, "cyagents.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    private async Task<(int Code, string Out, string Err)> PostAsync(string? reward = "200", string? python = "pass", bool human = false, string? title = "Write hello.txt")
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var code = await TasksCommand.PostAsync(title, "hello.txt", reward, "10", python, null, null, human, _data, Db, o, e, default);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Post_without_a_running_run_escrows_from_the_treasury_and_list_shows_it()
    {
        var (code, output, _) = await PostAsync();
        code.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("200 credits escrowed from the treasury");

        var (o, e) = (new StringWriter(), new StringWriter());
        (await TasksCommand.ListAsync("open", Db, o, e, default)).ShouldBe(ExitCodes.Ok);
        o.ToString().ShouldContain("Write hello.txt");
        o.ToString().ShouldContain("1 tasks");
        await using var db = new CyAgentsDbContext(DatabaseOptions.ForSqliteFile(Db).BuildOptions());
        (await new EfLedger(db).GetBalanceAsync(AccountIds.Treasury)).Reserved.ShouldBe(200);
        (await db.Set<TaskRecord>().SingleAsync()).VerifierCommandJson.ShouldBe("[\"python3\",\"-c\",\"pass\"]");
    }

    [Fact]
    public async Task Bad_arguments_are_refused_in_one_line_and_post_nothing()
    {
        (await PostAsync(reward: "ten")).Code.ShouldBe(ExitCodes.Usage);
        (await PostAsync(reward: "0")).Err.ShouldContain("reward");
        (await PostAsync(python: "pass", human: true)).Err.ShouldContain("exactly one of");
        (await PostAsync(title: "")).Code.ShouldBe(ExitCodes.Usage);
        File.Exists(Db).ShouldBeFalse();
        var (o, e) = (new StringWriter(), new StringWriter());
        (await TasksCommand.ListAsync("closed", Db, o, e, default)).ShouldBe(ExitCodes.Usage);
    }

    [Fact]
    public async Task The_shipped_feed_is_valid_and_posts_once_per_database()
    {
        var feed = TaskFeed.Read(RunCommand.FromRepository("tasks/feed.json"), long.MaxValue);
        feed.Count.ShouldBeGreaterThanOrEqualTo(4);
        var options = DatabaseOptions.ForSqliteFile(Db);
        await DatabaseSetup.EnsureCreatedAsync(options);
        var databases = new Factory(options);

        (await TaskFeed.PostAsync(databases, db => new EfLedger(db), feed, DateTimeOffset.UtcNow, default)).ShouldBe(feed.Count);
        (await TaskFeed.PostAsync(databases, db => new EfLedger(db), feed, DateTimeOffset.UtcNow, default)).ShouldBe(0);

        await using var read = new CyAgentsDbContext(options.BuildOptions());
        (await read.Set<TaskRecord>().CountAsync()).ShouldBe(feed.Count);
        (await new EfLedger(read).GetBalanceAsync(AccountIds.Treasury)).Reserved.ShouldBe(feed.Sum(f => f.Terms.Reward));
    }

    [Fact]
    public void A_bad_feed_is_refused_naming_the_task()
    {
        var path = Path.Combine(_data, "feed.json");
        File.WriteAllText(path, """{"tasks": [{"key": "x", "title": "t", "reward": 0, "deadlineCycles": 5, "verifier": {"kind": "human"}}]}""");
        Should.Throw<TaskFeedException>(() => TaskFeed.Read(path, 1000)).Message.ShouldContain("task 'x': reward");
    }

    private sealed class Factory(DatabaseOptions options) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext() => new(options.BuildOptions());
    }
}
