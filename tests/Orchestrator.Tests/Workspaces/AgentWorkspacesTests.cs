using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Orchestrator.Workspaces;

namespace CyAgents.Orchestrator.Tests.Workspaces;

public sealed class AgentWorkspacesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-ws-").FullName;

    private AgentWorkspaces Create()
    {
        var template = Directory.CreateDirectory(Path.Combine(_root, "genesis")).FullName;
        File.WriteAllText(Path.Combine(template, "strategy.json"), "{\"bidFraction\":0.05}");
        return new AgentWorkspaces(_root, template);
    }

    [Fact]
    public void A_new_agent_gets_a_copy_of_the_template_owned_by_the_sandbox_user()
    {
        var path = Create().Prepare("a1", null);

        File.ReadAllText(Path.Combine(path, "strategy.json")).ShouldContain("0.05");
    }

    [Fact]
    public void A_spawned_agents_own_strategy_replaces_the_templates()
    {
        var path = Create().Prepare("child", "{\"bidFraction\":0.3}");

        File.ReadAllText(Path.Combine(path, "strategy.json")).ShouldContain("0.3");
    }

    [Fact]
    public void An_existing_workspace_keeps_its_files()
    {
        var workspaces = Create();
        var path = workspaces.Prepare("a1", null);
        File.WriteAllText(Path.Combine(path, "journal"), "line\n");

        workspaces.Prepare("a1", "{\"bidFraction\":0.9}");

        File.ReadAllText(Path.Combine(path, "journal")).ShouldBe("line\n");
        File.ReadAllText(Path.Combine(path, "strategy.json")).ShouldContain("0.05");
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("genesis")]
    public void Ids_that_would_escape_the_root_or_reuse_the_template_are_refused(string id) =>
        Should.Throw<ArgumentException>(() => Create().PathOf(id));

    [Fact]
    public void Env_json_is_readable_only_by_its_owner_because_it_carries_the_token()
    {
        var workspaces = Create();
        var path = workspaces.Prepare("a1", null);

        workspaces.WriteEnvironment(path, new AgentEnvironment
        {
            AgentId = "a1", ExecutionId = "x", Token = "secret", Bundle = new ResourceBundleDto(1, 1, 0, 0), Balance = new BalanceView(0, 0, 0),
            Prices = new PricesView(0, 0, 0, 0), ApiSocket = "/run/cyagents/api.sock",
        });

        if (!OperatingSystem.IsWindows())
            File.GetUnixFileMode(Path.Combine(path, "env.json")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.ReadAllText(Path.Combine(path, "env.json")).ShouldContain("\"token\": \"secret\"");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
