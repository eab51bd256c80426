using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Commands;

/// <summary>`agents create` while no `run` holds the data folder: the database directly; bad arguments change nothing.</summary>
public sealed class AgentsCreateCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-agents-create-").FullName;
    private string Data => Path.Combine(_root, "data");
    private string Workspaces => Path.Combine(_root, "workspaces");
    private string Db => Path.Combine(Data, "cyagents.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private string Template(string name = "trader", string manifest = """{"runtime":"python","command":["python3","agent.py"],"entryBid":{"amount":30,"bundle":{"cpuMillicores":100,"memoryMiB":32}}}""")
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "templates", name)).FullName;
        File.WriteAllText(Path.Combine(folder, AgentManifestReader.FileName), manifest);
        File.WriteAllText(Path.Combine(folder, "agent.py"), "print('trade')");
        return folder;
    }

    private async Task<(int Code, string Out, string Err)> CreateAsync(string? template, string? endowment, string? name = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await AgentsCommand.RunAsync(template, endowment, name, Data, null, Workspaces, stdout, stderr, default);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Agent rows, ledger transfers and workspace folders: what "nothing created" compares.</summary>
    private async Task<string> StateAsync()
    {
        var folders = Directory.Exists(Workspaces) ? string.Join(",", Directory.GetDirectories(Workspaces).Select(Path.GetFileName).Order()) : "(none)";
        if (!File.Exists(Db)) return $"no database; folders {folders}";
        await using var db = new CyAgentsDbContext(DatabaseOptions.ForSqliteFile(Db).BuildOptions());
        var agents = string.Join(",", await db.Set<AgentRecord>().OrderBy(a => a.Id).Select(a => a.Id + ":" + a.Name).ToListAsync());
        var transfers = await db.Set<LedgerTransferRecord>().CountAsync();
        return $"agents {agents}; transfers {transfers}; folders {folders}";
    }

    [Fact]
    public async Task An_agent_is_created_with_its_manifest_its_endowment_from_the_treasury_and_a_copy_of_the_template()
    {
        var (code, output, error) = await CreateAsync(Template(), "5000", "trader-1");

        code.ShouldBe(ExitCodes.Ok, error);
        output.ShouldContain("created agent agt-");
        await using var db = new CyAgentsDbContext(DatabaseOptions.ForSqliteFile(Db).BuildOptions());
        var agent = await db.Set<AgentRecord>().SingleAsync();
        agent.Name.ShouldBe("trader-1");
        agent.Generation.ShouldBe(0);
        AgentManifestReader.FromStored(agent.ManifestJson).EntryBid!.Amount.ShouldBe(30);
        File.ReadAllText(Path.Combine(Workspaces, agent.Id, "agent.py")).ShouldBe("print('trade')");
        await using var ledger = EfLedger.Open(DatabaseOptions.ForSqliteFile(Db));
        (await ledger.GetBalanceAsync(AccountIds.ForAgent(agent.Id))).Posted.ShouldBe(5000);
        (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
        File.Exists(Path.Combine(Data, RunLock.InfoFileName)).ShouldBeFalse();
    }

    [Theory]
    [InlineData(null, "5000", null, "--template DIR is required")]
    [InlineData("/nonexistent/template", "5000", null, "is not a folder")]
    [InlineData("@template", null, null, "--endowment N is required")]
    [InlineData("@template", "0", null, "at least 1")]
    [InlineData("@template", "-5", null, "at least 1")]
    [InlineData("@template", "abc", null, "whole number")]
    [InlineData("@template", "1.5", null, "whole number")]
    [InlineData("@template", "99999999999999999999", null, "whole number")]
    [InlineData("@template", "5000", "two\nlines", "name")]
    [InlineData("@template", "5000", "   ", "name: is required")]
    [InlineData("@bad-manifest", "5000", null, "agent.json: runtime: unknown runtime 'ruby'")]
    [InlineData("@no-manifest", "5000", null, "agent.json: missing")]
    public async Task A_bad_argument_is_refused_in_one_line_with_exit_2_and_nothing_is_created(string? template, string? endowment, string? name, string message)
    {
        var folder = template switch
        {
            "@template" => Template(),
            "@bad-manifest" => Template("bad", """{"runtime":"ruby","command":["ruby","a.rb"]}"""),
            "@no-manifest" => Directory.CreateDirectory(Path.Combine(_root, "templates", "empty")).FullName,
            _ => template,
        };
        var before = await StateAsync();

        var (code, output, error) = await CreateAsync(folder, endowment, name);

        code.ShouldBe(ExitCodes.Usage);
        output.ShouldBeEmpty();
        error.TrimEnd('\n').ShouldNotContain('\n');
        error.ShouldStartWith("cyagents agents create: ");
        error.ShouldContain(message);
        (await StateAsync()).ShouldBe(before);
        Directory.Exists(Data).ShouldBeFalse(); // refused before the data folder is touched
    }

    [Fact]
    public async Task A_duplicate_name_is_refused_and_leaves_the_database_ledger_and_folders_as_they_were()
    {
        (await CreateAsync(Template(), "5000", "twin")).Code.ShouldBe(ExitCodes.Ok);
        var before = await StateAsync();

        var (code, _, error) = await CreateAsync(Template(), "700", "twin");

        code.ShouldBe(ExitCodes.Usage);
        error.ShouldContain("an agent named 'twin' exists already");
        (await StateAsync()).ShouldBe(before);
        Directory.GetDirectories(Workspaces).Where(d => Path.GetFileName(d).StartsWith('.')).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_template_holding_a_link_is_refused_and_nothing_is_created()
    {
        var folder = Template();
        File.CreateSymbolicLink(Path.Combine(folder, "loot"), "/etc/passwd");
        (await CreateAsync(Template("other"), "10", "first")).Code.ShouldBe(ExitCodes.Ok);
        var before = await StateAsync();

        var (code, _, error) = await CreateAsync(folder, "5000", "linked");

        code.ShouldBe(ExitCodes.Usage);
        error.ShouldContain("symbolic link");
        (await StateAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task While_a_run_holds_the_data_folder_without_a_loopback_url_the_command_says_so_and_creates_nothing()
    {
        using (RunLock.Acquire(Data, new RunInfo(4242, [])))
        {
            var (code, _, error) = await CreateAsync(Template(), "5000");

            code.ShouldBe(ExitCodes.Failure);
            error.ShouldContain("listens on no loopback URL");
        }
        File.Exists(Db).ShouldBeFalse();
    }

    [Fact]
    public async Task A_run_cannot_start_on_a_data_folder_another_process_holds()
    {
        using var held = RunLock.Acquire(Data);
        RunLock.TryAcquire(Data).ShouldBeNull();
        Should.Throw<DataFolderBusyException>(() => RunLock.Acquire(Data)).Message.ShouldContain("run.lock");
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Agents_create_has_help_with_examples()
    {
        var output = new StringWriter();
        var root = new System.CommandLine.RootCommand { AgentsCommand.Create() };
        var code = await root.Parse(["agents", "create", "--help"]).InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output });

        code.ShouldBe(0);
        output.ToString().ShouldContain("--endowment");
        output.ToString().ShouldContain("agents create --template workspaces/genesis --endowment 5000");
    }
}
