using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

/// <summary>A child starts from its parent's workspace and manifest, or from the template its spawn request names.</summary>
public sealed class SpawnTemplateTests
{
    private const string PythonManifest = """{"runtime":"python","command":["python3","agent.py"],"env":{"MODE":"child"}}""";

    private static string Template(ApiFactory api, string name, string manifest)
    {
        var folder = Directory.CreateDirectory(Path.Combine(api.WorkspacesRoot, name)).FullName;
        File.WriteAllText(Path.Combine(folder, AgentManifestReader.FileName), manifest);
        File.WriteAllText(Path.Combine(folder, "agent.py"), "print('hello')");
        return folder;
    }

    private static async Task<string?> ManifestOfAsync(ApiFactory api, string agentId)
    {
        await using var db = await api.DbAsync();
        return await db.Set<AgentRecord>().Where(a => a.Id == agentId).Select(a => a.ManifestJson).SingleAsync();
    }

    private static async Task SetManifestAsync(ApiFactory api, string agentId, string json)
    {
        await using var db = await api.DbAsync();
        (await db.Set<AgentRecord>().SingleAsync(a => a.Id == agentId)).ManifestJson = json;
        await db.SaveChangesAsync();
    }

    [Fact]
    public async Task A_named_template_gives_the_child_that_folder_and_that_manifest()
    {
        await using var api = new ApiFactory();
        Template(api, "py", PythonManifest);
        var token = await api.AgentTokenAsync("genesis", 1000);

        var spawned = await api.TypedClient(token).SpawnAsync(new SpawnRequest("snake", 100, Template: "py"));

        var workspace = Path.Combine(api.WorkspacesRoot, spawned.Agent.Id);
        File.ReadAllText(Path.Combine(workspace, "agent.py")).ShouldBe("print('hello')");
        File.Exists(Path.Combine(workspace, "README.md")).ShouldBeFalse();
        var manifest = AgentManifestReader.FromStored(await ManifestOfAsync(api, spawned.Agent.Id));
        manifest.Runtime.ShouldBe("python");
        manifest.Env["MODE"].ShouldBe("child");
    }

    [Fact]
    public async Task Without_a_template_the_child_gets_a_copy_of_its_parents_workspace_and_its_parents_manifest()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("parent-1", 1000);
        await SetManifestAsync(api, "parent-1", AgentManifestReader.Write(AgentManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(PythonManifest))));
        var own = Directory.CreateDirectory(Path.Combine(api.WorkspacesRoot, "parent-1")).FullName;
        File.WriteAllText(Path.Combine(own, "agent.py"), "print('rewritten by the parent')");
        Directory.CreateDirectory(Path.Combine(own, "lib", "deep"));
        File.WriteAllText(Path.Combine(own, "lib", "deep", "util.py"), "X = 1");

        var spawned = await api.TypedClient(token).SpawnAsync(new SpawnRequest("kid", 100));

        var workspace = Path.Combine(api.WorkspacesRoot, spawned.Agent.Id);
        File.ReadAllText(Path.Combine(workspace, "agent.py")).ShouldBe("print('rewritten by the parent')");
        File.ReadAllText(Path.Combine(workspace, "lib", "deep", "util.py")).ShouldBe("X = 1");
        File.Exists(Path.Combine(workspace, "README.md")).ShouldBeFalse();
        (await ManifestOfAsync(api, spawned.Agent.Id)).ShouldBe(await ManifestOfAsync(api, "parent-1"));
    }

    [Fact]
    public async Task An_unknown_template_is_a_validation_error_and_creates_nothing()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("x", 100, Template: "no-such"));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        problem.FieldErrors("template").ShouldHaveSingleItem().ShouldContain("no template 'no-such'");
        (await api.SnapshotAsync()).ShouldBe(before);
        Directory.GetDirectories(api.WorkspacesRoot).Select(Path.GetFileName).ShouldBe(["genesis"]);
    }

    [Theory]
    [InlineData("../genesis", "folder name")]
    [InlineData(".hidden", "folder name")]
    [InlineData("genesis", "no agent.json")] // the test host's default template has none
    [InlineData("agent-b", "an agent's workspace")]
    [InlineData("bad", "agent.json: runtime: unknown runtime 'cobol'")]
    public async Task A_template_that_is_not_one_is_refused_naming_why(string template, string why)
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 1000);
        await api.SeedAgentAsync("agent-b", 10);
        Template(api, "agent-b", PythonManifest); // an agent's own workspace, which holds an agent.json
        Template(api, "bad", """{"runtime":"cobol","command":["run"]}""");
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("x", 100, Template: template));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        problem.FieldErrors("template").ShouldHaveSingleItem().ShouldContain(why);
        (await api.SnapshotAsync()).ShouldBe(before);
        Directory.GetDirectories(api.WorkspacesRoot).Select(Path.GetFileName).Order().ShouldBe(["agent-b", "bad", "genesis"]);
    }

    [Fact]
    public async Task A_parent_workspace_holding_a_link_is_not_copied_and_the_spawn_changes_nothing()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("parent-1", 1000);
        var own = Directory.CreateDirectory(Path.Combine(api.WorkspacesRoot, "parent-1")).FullName;
        var secret = Path.Combine(api.Root, "host-secret");
        File.WriteAllText(secret, "root only");
        Directory.CreateDirectory(Path.Combine(own, "sub"));
        File.CreateSymbolicLink(Path.Combine(own, "sub", "loot"), secret);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("kid", 100));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        problem.FieldErrors("template").ShouldHaveSingleItem().ShouldContain("symbolic link");
        (await api.SnapshotAsync()).ShouldBe(before);
        Directory.GetDirectories(api.WorkspacesRoot).Select(Path.GetFileName).Order().ShouldBe(["genesis", "parent-1"]);
    }
}
