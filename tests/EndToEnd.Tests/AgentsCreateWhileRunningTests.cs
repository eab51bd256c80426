using System.Net;
using System.Net.Sockets;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>Acceptance (issue 10): an agent created with `agents create` while `run` is running bids in the next cycle.</summary>
[Collection(DockerCollection.Name)]
public sealed class AgentsCreateWhileRunningTests(DockerFixture docker)
{
    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task An_agent_created_through_the_running_runs_operator_endpoint_bids_and_runs_in_the_next_cycle()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "create-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root) with { ApiUrls = $"http://127.0.0.1:{FreeLoopbackPort()}" };
        // A copy of the genesis template, as a user would start their own agent from it.
        var template = Directory.CreateDirectory(Path.Combine(root, "my-agent")).FullName;
        foreach (var file in Directory.EnumerateFiles(settings.WorkspaceTemplate))
            File.Copy(file, Path.Combine(template, Path.GetFileName(file)));

        await using var economy = await LiveEconomy.StartAsync(settings);
        var first = await economy.RunCyclesAsync(1, TimeSpan.Zero);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await AgentsCommand.RunAsync(template, "3000", "newcomer", settings.DataDirectory, null, settings.WorkspacesRoot, stdout, stderr, default);

        code.ShouldBe(ExitCodes.Ok, stderr.ToString());
        stdout.ToString().ShouldContain("through the running `run`");
        string id;
        await using (var db = new CyAgentsDbContext(DatabaseOptions.ForSqliteFile(settings.Database).BuildOptions()))
            id = (await db.Set<AgentRecord>().SingleAsync(a => a.Name == "newcomer")).Id;
        var next = (await economy.RunCyclesAsync(1, TimeSpan.Zero)).ShouldHaveSingleItem();

        next.Number.ShouldBe(first[0].Number + 1);
        next.Winners.ShouldContain(w => w.AgentId == id);
        next.Executions.Single(e => e.AgentId == id).Status.ShouldBe(ExecutionStatus.Succeeded);
        next.Conservation.Holds.ShouldBeTrue();
        await using var read = new CyAgentsDbContext(DatabaseOptions.ForSqliteFile(settings.Database).BuildOptions());
        (await read.Set<BidRecord>().SingleAsync(b => b.AgentId == id && b.Cycle == next.Number)).Amount.ShouldBe(settings.Live!.Genesis.FirstBidAmount);
    }
}
