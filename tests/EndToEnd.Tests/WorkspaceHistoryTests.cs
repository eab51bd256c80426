using System.CommandLine;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.EndToEnd.Tests;

/// <summary>Live cycles of Genesis on the real engine: one history commit per execution, read with `agents history` and the API (ADR 0108).</summary>
[Collection(DockerCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class WorkspaceHistoryTests(DockerFixture docker)
{
    [Fact]
    public async Task Every_execution_of_a_live_run_is_one_commit_and_the_child_starts_from_genesis()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "history-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root) with { ApiUrls = $"http://127.0.0.1:{Live.FreePort()}" };
        var genesis = settings.Live!.Genesis.AgentId;
        WorkspaceHistoryPage viaApi;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            (await economy.RunCyclesAsync(3, TimeSpan.Zero)).Count.ShouldBe(3);
            var operatorToken = (await File.ReadAllTextAsync(Path.Combine(settings.DataDirectory, "operator.token"))).Trim();
            // The operator token is accepted on the loopback listener only (ADR 0083).
            using var http = new HttpClient { BaseAddress = new Uri(settings.ApiUrls) };
            viaApi = await new SystemApiClient(http, operatorToken).GetHistoryAsync(genesis, take: 50);
        }

        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        var executions = await db.Set<ExecutionRecord>().OrderByDescending(e => e.Cycle).ToListAsync();
        var genesisRuns = executions.Where(e => e.AgentId == genesis).ToList();
        genesisRuns.ShouldNotBeEmpty();

        // The API: one commit per execution, newest first, with its outcome.
        viaApi.Total.ShouldBe(genesisRuns.Count);
        viaApi.Items.Select(c => c.ExecutionId).ShouldBe(genesisRuns.Select(e => e.Id));
        viaApi.Items.ShouldAllBe(c => c.Status == "Succeeded" && c.ExitCode == 0);
        viaApi.Items[^1].Diff.Added.ShouldBeGreaterThan(0); // the first snapshot adds the template's files
        viaApi.Items.ShouldAllBe(c => !c.Truncated);

        // The CLI, from the same data folder after the run.
        var (exit, stdout, stderr) = Cli("agents", "history", genesis, "--data", settings.DataDirectory, "--json");
        exit.ShouldBe(ExitCodes.Ok, stderr);
        var viaCli = JsonSerializer.Deserialize(stdout, ContractsJsonContext.Default.WorkspaceHistoryPage)!;
        viaCli.Items.Select(c => c.Commit).ShouldBe(viaApi.Items.Select(c => c.Commit));
        var (textExit, text, _) = Cli("agents", "history", genesis, "--data", settings.DataDirectory);
        textExit.ShouldBe(ExitCodes.Ok);
        text.ShouldContain($"{genesis}: {genesisRuns.Count} executions recorded");
        foreach (var run in genesisRuns) text.ShouldContain(run.Id);

        // Genesis spawns a child in its first run; the child's first commit follows a Genesis commit.
        var child = await db.Set<AgentRecord>().SingleAsync(a => a.ParentId == genesis);
        var childRuns = executions.Where(e => e.AgentId == child.Id).ToList();
        childRuns.ShouldNotBeEmpty();
        var (childExit, childJson, childErr) = Cli("agents", "history", child.Id, "--data", settings.DataDirectory, "--json");
        childExit.ShouldBe(ExitCodes.Ok, childErr);
        var childPage = JsonSerializer.Deserialize(childJson, ContractsJsonContext.Default.WorkspaceHistoryPage)!;
        childPage.Total.ShouldBe(childRuns.Count);
        childPage.StartedFrom.ShouldNotBeNull().AgentId.ShouldBe(genesis);
        viaApi.Items.Select(c => c.Commit).ShouldContain(childPage.StartedFrom.Commit);
        childPage.Items[^1].Parent.ShouldBe(childPage.StartedFrom.Commit);

        // The repositories are the host's: root-owned, owner-only.
        File.GetUnixFileMode(Path.Combine(settings.DataDirectory, "history")).ShouldBe(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }


    private static (int Exit, string Stdout, string Stderr) Cli(params string[] args)
    {
        var root = new RootCommand { new Command("agents") { AgentsHistoryCommand.Create() } };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
