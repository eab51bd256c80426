using System.Net;
using CyAgents.Contracts;
using CyAgents.SystemApi.Tests.Infrastructure;
using CyAgents.SystemApi.Workspaces.History;

namespace CyAgents.SystemApi.Tests;

/// <summary>GET /v1/agents/{id}/history: the agent itself or the operator; another agent sees 404 as for an unknown agent.</summary>
public sealed class HistoryEndpointTests
{
    private static async Task RecordAsync(ApiFactory api, string agentId, int executions)
    {
        var ws = Directory.CreateDirectory(Path.Combine(api.Root, "ws-" + agentId)).FullName;
        for (var c = 1; c <= executions; c++)
        {
            File.WriteAllText(Path.Combine(ws, $"step-{c}"), new string('x', c));
            await api.Get<WorkspaceHistory>().RecordAsync(
                new ExecutionSnapshot(agentId, $"c{c}-{agentId}", c, "Succeeded", 0, DateTimeOffset.UnixEpoch.AddMinutes(c)), ws, null);
        }
    }

    [Fact]
    public async Task An_agent_reads_its_own_history_newest_first_and_paged()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 100);
        await RecordAsync(api, "genesis", 3);

        var page = await api.TypedClient(token).GetHistoryAsync("genesis", skip: 1, take: 1);

        page.AgentId.ShouldBe("genesis");
        page.Total.ShouldBe(3);
        var commit = page.Items.ShouldHaveSingleItem();
        commit.ExecutionId.ShouldBe("c2-genesis");
        commit.Cycle.ShouldBe(2);
        commit.Diff.ShouldBe(new WorkspaceDiffDto(1, 0, 0, 2, 0));
        commit.Commit.Length.ShouldBe(40);
    }

    [Fact]
    public async Task The_operator_reads_any_agents_history()
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("scout", 10);
        await RecordAsync(api, "scout", 2);

        var page = await api.TypedClient(ApiFactory.OperatorSecret).GetHistoryAsync("scout");

        page.Items.Select(i => i.ExecutionId).ShouldBe(["c2-scout", "c1-scout"]);
    }

    [Fact]
    public async Task Another_agent_gets_404_exactly_as_for_an_agent_that_does_not_exist()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 100);
        await api.SeedAgentAsync("scout", 10);
        await RecordAsync(api, "scout", 1);
        var client = api.ClientWith(token);

        var other = await client.GetAsync(ApiRoutes.History("scout"));
        var missing = await client.GetAsync(ApiRoutes.History("nobody"));

        (await other.ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound)).GetProperty("detail").GetString().ShouldBe("no agent 'scout'");
        (await missing.ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound)).GetProperty("detail").GetString().ShouldBe("no agent 'nobody'");
    }

    [Fact]
    public async Task No_history_yet_unknown_agents_and_bad_paging_are_refused()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 100);
        var operatorClient = api.ClientWith(ApiFactory.OperatorSecret);

        var none = await api.ClientWith(token).GetAsync(ApiRoutes.History("genesis"));
        var unknown = await operatorClient.GetAsync(ApiRoutes.History("nobody"));
        var badTake = await operatorClient.GetAsync(ApiRoutes.History("genesis") + "?take=0");

        (await none.ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound)).GetProperty("detail").GetString()!.ShouldContain("no workspace history yet");
        await unknown.ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        (await badTake.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("take").ShouldNotBeEmpty();
    }
}
