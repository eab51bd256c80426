using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.SystemApi.Workspaces;

namespace CyAgents.Orchestrator.Tests.Workspaces;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AgentWorkspacesTests : IDisposable
{
    private const int Uid = 10001;
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-ws-").FullName;

    private AgentWorkspaces Create(TreeLimits? limits = null)
    {
        var template = Directory.CreateDirectory(Path.Combine(_root, "genesis")).FullName;
        File.WriteAllText(Path.Combine(template, "strategy.json"), "{\"bidFraction\":0.05}");
        return new AgentWorkspaces(_root, template, Path.Combine(_root, "..", Path.GetFileName(_root) + ".ctx"), limits);
    }

    private static AgentEnvironment Env(string executionId) => new()
    {
        AgentId = "a1", ExecutionId = executionId, Token = "secret", Bundle = new ResourceBundleDto(1, 1, 0, 0), Balance = new BalanceView(0, 0, 0),
        Prices = new PricesView(0, 0, 0, 0), ApiSocket = "/run/cyagents/api.sock",
    };

    [Fact]
    public void A_new_agent_gets_a_copy_of_the_template()
    {
        var path = Create().Prepare("a1", null, Uid);

        File.ReadAllText(Path.Combine(path, "strategy.json")).ShouldContain("0.05");
        if (WorkspaceFiles.CanChangeOwner)
        {
            WorkspaceFiles.OwnerOf(path).ShouldBe(Uid);
            WorkspaceFiles.OwnerOf(Path.Combine(path, "strategy.json")).ShouldBe(Uid);
            File.GetUnixFileMode(path).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Fact]
    public void A_spawned_agents_own_strategy_replaces_the_templates()
    {
        var path = Create().Prepare("child", "{\"bidFraction\":0.3}", Uid);

        File.ReadAllText(Path.Combine(path, "strategy.json")).ShouldContain("0.3");
    }

    [Fact]
    public void An_existing_workspace_keeps_its_files()
    {
        var workspaces = Create();
        var path = workspaces.Prepare("a1", null, Uid);
        File.WriteAllText(Path.Combine(path, "journal"), "line\n");

        workspaces.Prepare("a1", "{\"bidFraction\":0.9}", Uid);

        File.ReadAllText(Path.Combine(path, "journal")).ShouldBe("line\n");
        File.ReadAllText(Path.Combine(path, "strategy.json")).ShouldContain("0.05");
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("genesis")]
    public void Ids_that_would_escape_the_root_or_reuse_the_template_are_refused(string id) =>
        Should.Throw<ArgumentException>(() => Create().PathOf(id));

    [Fact]
    public void Links_an_agent_planted_in_its_workspace_are_not_followed_when_it_is_prepared_again()
    {
        var workspaces = Create();
        var path = workspaces.Prepare("a1", null, Uid);
        var secret = Path.Combine(_root, "..", Path.GetFileName(_root) + "-secret");
        File.WriteAllText(secret, "host secret");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.CreateSymbolicLink(Path.Combine(path, "env.json"), secret);
        File.CreateSymbolicLink(Path.Combine(path, "strategy-link"), secret);
        Directory.CreateSymbolicLink(Path.Combine(path, "loop"), Path.Combine(path, "loop"));
        try
        {
            workspaces.Prepare("a1", null, Uid);
            var context = workspaces.DeliverEnvironment(Env("x1"), Uid);

            File.ReadAllText(secret).ShouldBe("host secret");
            File.GetUnixFileMode(secret).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WorkspaceFiles.OwnerOf(secret).ShouldBe(WorkspaceFiles.OwnerOf(_root));
            context.ShouldNotStartWith(path);
            File.ReadAllText(Path.Combine(context, "env.json")).ShouldContain("\"token\": \"secret\"");
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public void A_workspace_that_is_itself_a_link_is_refused()
    {
        var workspaces = Create();
        var elsewhere = Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName;
        Directory.CreateSymbolicLink(workspaces.PathOf("a1"), elsewhere);

        Should.Throw<UnsafeWorkspaceEntryException>(() => workspaces.Prepare("a1", null, Uid)).Message.ShouldContain("symbolic link");
    }

    [Fact]
    public void A_template_holding_a_link_or_too_many_files_is_refused_and_leaves_no_workspace()
    {
        var workspaces = Create(new TreeLimits(MaxEntries: 5));
        for (var i = 0; i < 10; i++) File.WriteAllText(Path.Combine(workspaces.Template, $"f{i}"), "x");

        Should.Throw<UnsafeWorkspaceEntryException>(() => workspaces.Prepare("a1", null, Uid)).Message.ShouldContain("more than 5 entries");
        Directory.Exists(workspaces.PathOf("a1")).ShouldBeFalse();
        Directory.GetDirectories(_root).Select(Path.GetFileName).ShouldBe(["genesis"]);

        var linked = Create();
        foreach (var f in Directory.GetFiles(linked.Template, "f*")) File.Delete(f);
        File.CreateSymbolicLink(Path.Combine(linked.Template, "link"), "/etc/hostname");
        Should.Throw<UnsafeWorkspaceEntryException>(() => linked.Prepare("a2", null, Uid)).Message.ShouldContain("symbolic link");
    }

    [Fact]
    public void Each_execution_gets_its_own_context_readable_only_by_its_agent_and_removed_after()
    {
        var workspaces = Create();

        var first = workspaces.DeliverEnvironment(Env("x1"), Uid);
        var second = workspaces.DeliverEnvironment(Env("x2"), Uid);

        first.ShouldNotBe(second);
        if (WorkspaceFiles.CanChangeOwner)
        {
            File.GetUnixFileMode(Path.Combine(first, "env.json")).ShouldBe(UnixFileMode.UserRead);
            WorkspaceFiles.OwnerOf(Path.Combine(first, "env.json")).ShouldBe(Uid);
        }
        workspaces.RemoveEnvironment("x1");
        Directory.Exists(first).ShouldBeFalse();
        Directory.Exists(second).ShouldBeTrue();
    }

    [Fact]
    public void A_fifo_or_a_link_is_never_opened_by_the_host_reader()
    {
        if (OperatingSystem.IsWindows()) return;
        var fifo = Path.Combine(_root, "fifo");
        System.Diagnostics.Process.Start("mkfifo", fifo)!.WaitForExit();
        File.CreateSymbolicLink(Path.Combine(_root, "link"), Path.Combine(_root, "genesis", "strategy.json"));

        // Both refused at once: a FIFO opened without O_NONBLOCK would block this test forever.
        Should.Throw<UnsafeWorkspaceEntryException>(() => WorkspaceFiles.ReadRegular(fifo, 1024)).Message.ShouldContain("not a regular file");
        Should.Throw<UnsafeWorkspaceEntryException>(() => WorkspaceFiles.ReadRegular(Path.Combine(_root, "link"), 1024)).Message.ShouldContain("symbolic link");
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        var context = Path.Combine(_root, "..", Path.GetFileName(_root) + ".ctx");
        if (Directory.Exists(context)) Directory.Delete(context, recursive: true);
    }
}
