using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

/// <summary>POST /v1/operator/agents: what `agents create` calls while `run` runs.</summary>
public sealed class OperatorAgentEndpointTests
{
    private static string Template(ApiFactory api, string manifest = """{"runtime":"python","command":["python3","agent.py"]}""")
    {
        var folder = Directory.CreateDirectory(Path.Combine(api.Root, "my-agent")).FullName;
        File.WriteAllText(Path.Combine(folder, AgentManifestReader.FileName), manifest);
        File.WriteAllText(Path.Combine(folder, "agent.py"), "print(1)");
        return folder;
    }

    [Fact]
    public async Task The_operator_creates_a_root_agent_endowed_from_the_treasury_with_the_templates_manifest_and_files()
    {
        await using var api = new ApiFactory();
        var folder = Template(api);

        var created = await api.TypedClient(ApiFactory.OperatorSecret).CreateAgentAsync(new CreateAgentRequest("mine", 2500, folder));

        created.Agent.Generation.ShouldBe(0);
        created.Agent.RootId.ShouldBe(created.Agent.Id);
        (await api.AvailableAsync(created.Agent.Id)).ShouldBe(2500);
        File.ReadAllText(Path.Combine(created.Workspace, "agent.py")).ShouldBe("print(1)");
        await using var db = await api.DbAsync();
        AgentManifestReader.FromStored((await db.Set<AgentRecord>().SingleAsync(a => a.Id == created.Agent.Id)).ManifestJson).Runtime.ShouldBe("python");
        (await (await api.LedgerAsync()).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task An_agent_token_may_not_create_agents()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 10);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.OperatorAgents, new CreateAgentRequest("x", 10, Template(api)));

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("x", 0, "@", "endowment")]
    [InlineData("", 10, "@", "name")]
    [InlineData("x", 10, "relative/folder", "template")]
    [InlineData("x", 10, "/nonexistent/folder", "template")]
    [InlineData("x", 10, "@bad", "template")]
    [InlineData("taken", 10, "@", "name")]
    public async Task Bad_requests_are_refused_field_by_field_and_create_nothing(string name, long endowment, string template, string field)
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("taken-1", 0);
        await using (var db = await api.DbAsync())
        {
            (await db.Set<AgentRecord>().SingleAsync(a => a.Id == "taken-1")).Name = "taken";
            await db.SaveChangesAsync();
        }
        var folder = template switch
        {
            "@" => Template(api),
            "@bad" => Template(api, """{"runtime":"python","command":["python3","/etc/passwd"]}"""),
            _ => template,
        };
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(ApiFactory.OperatorSecret).PostAsJsonAsync(ApiRoutes.OperatorAgents, new CreateAgentRequest(name, endowment, folder));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        problem.FieldErrors(field).ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
        Directory.GetDirectories(api.WorkspacesRoot).Select(Path.GetFileName).ShouldBe(["genesis"]);
    }
}
