using System.CommandLine;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Orchestrator.Commands;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces.History;

namespace CyAgents.Orchestrator.Tests.Commands;

/// <summary>`cyagents agents history ID` on a data folder: the listing, JSON, and the one-line refusals with their exit codes.</summary>
public sealed class AgentsHistoryCommandTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("cyagents-history-cli-").FullName;

    private async Task<WorkspaceHistory> SeedAsync()
    {
        var database = DatabaseOptions.ForSqliteFile(Path.Combine(_data, "cyagents.db"));
        await DatabaseSetup.EnsureCreatedAsync(database);
        await using (var db = new CyAgentsDbContext(database.BuildOptions()))
        {
            db.Add(new AgentRecord { Id = "genesis-0", Name = "Genesis", RootId = "genesis-0", CreatedAt = DateTimeOffset.UnixEpoch });
            db.Add(new AgentRecord { Id = "quiet", Name = "Quiet", RootId = "quiet", CreatedAt = DateTimeOffset.UnixEpoch });
            await db.SaveChangesAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var history = new WorkspaceHistory(new HistoryOptions { Root = Path.Combine(_data, "history") });
        var ws = Directory.CreateDirectory(Path.Combine(_data, "ws")).FullName;
        File.WriteAllText(Path.Combine(ws, "strategy.json"), "{}");
        await history.RecordAsync(new ExecutionSnapshot("genesis-0", "c1-entry-genesis-0", 1, "Succeeded", 0, DateTimeOffset.UnixEpoch.AddDays(1)), ws, null);
        File.WriteAllText(Path.Combine(ws, "journal.txt"), "12345");
        File.WriteAllText(Path.Combine(ws, "strategy.json"), "{\"a\":1}");
        await history.RecordAsync(new ExecutionSnapshot("genesis-0", "c2-bid-7", 2, "TimedOut", null, DateTimeOffset.UnixEpoch.AddDays(2)), ws, null);
        return history;
    }

    private (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var root = new RootCommand { new Command("agents") { AgentsHistoryCommand.Create() } };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = root.Parse(["agents", "history", .. args, "--data", _data]).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task It_lists_one_line_per_execution_newest_first_with_the_diff_summary()
    {
        await SeedAsync();

        var (exit, stdout, stderr) = Run("genesis-0");

        exit.ShouldBe(ExitCodes.Ok, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("genesis-0: 2 executions recorded (1..2 shown), newest first");
        lines[1].ShouldStartWith("EXECUTION");
        lines[2].ShouldStartWith("c2-bid-7");
        lines[2].ShouldContain(" TimedOut ");
        lines[2].ShouldContain("+1 ~1 -0");
        lines[2].ShouldContain("+10 -0"); // journal.txt 5 bytes + strategy.json grew from 2 to 7
        lines[3].ShouldStartWith("c1-entry-genesis-0");
        lines[3].ShouldContain("+1 ~0 -0");
        lines.Length.ShouldBe(4);
    }

    [Fact]
    public async Task Json_is_the_page_the_api_answers()
    {
        await SeedAsync();

        var (exit, stdout, _) = Run("genesis-0", "--take", "1", "--json");

        exit.ShouldBe(ExitCodes.Ok);
        var page = JsonSerializer.Deserialize(stdout, ContractsJsonContext.Default.WorkspaceHistoryPage)!;
        page.Total.ShouldBe(2);
        page.Items.ShouldHaveSingleItem().ExecutionId.ShouldBe("c2-bid-7");
        page.Items[0].ExitCode.ShouldBeNull();
    }

    [Fact]
    public async Task An_unknown_agent_is_one_line_and_exit_code_2()
    {
        await SeedAsync();

        var (exit, stdout, stderr) = Run("nobody");

        exit.ShouldBe(ExitCodes.Usage);
        stdout.ShouldBeEmpty();
        stderr.Trim().ShouldBe($"cyagents agents history: no agent 'nobody' in {Path.Combine(_data, "cyagents.db")}.");
    }

    [Fact]
    public async Task An_agent_without_history_is_one_line_and_exit_code_1()
    {
        await SeedAsync();

        var (exit, _, stderr) = Run("quiet");

        exit.ShouldBe(ExitCodes.Failure);
        stderr.Trim().ShouldBe("cyagents agents history: agent 'quiet' has no workspace history yet (it has not run since history was recorded).");
    }

    [Fact]
    public void No_database_is_one_line_and_exit_code_5_and_creates_nothing()
    {
        var (exit, _, stderr) = Run("genesis-0");

        exit.ShouldBe(ExitCodes.Database);
        stderr.Trim().ShouldStartWith("cyagents agents history: no database at ");
        Directory.EnumerateFileSystemEntries(_data).ShouldBeEmpty();
    }

    [Fact]
    public void Help_has_an_example()
    {
        var root = new RootCommand { new Command("agents") { AgentsHistoryCommand.Create() } };
        var stdout = new StringWriter();

        root.Parse(["agents", "history", "--help"]).Invoke(new InvocationConfiguration { Output = stdout });

        stdout.ToString().ShouldContain("cyagents agents history genesis-0");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}
