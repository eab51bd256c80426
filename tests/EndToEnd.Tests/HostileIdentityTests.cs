using System.Diagnostics;
using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.SystemApi.Workspaces;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// One agent, one identity (issue 9 item 2, ADR 0071), on the real engine: an agent that learned another's host paths cannot
/// read that agent's workspace or context, the image's USER is overridden by a bare uid with no /etc/passwd, and a local
/// non-root user can read neither the workspaces nor the database nor the log.
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Hostile")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HostileIdentityTests(DockerFixture docker)
{
    private const int Alpha = 200_500, Beta = 200_501;

    private static AgentEnvironment Context(string agentId, string executionId) => new()
    {
        AgentId = agentId, ExecutionId = executionId, Token = $"secret-token-of-{agentId}", Cycle = 1, NextCycle = 2,
        Bundle = new ResourceBundleDto(250, 64, 0, 0), Balance = new BalanceView(1, 0, 1), Prices = new PricesView(0, 0, 0, 0),
        ApiSocket = "/run/cyagents/api.sock", Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
    };

    [Fact]
    public async Task An_agent_that_learned_another_agents_paths_cannot_read_its_workspace_or_context_and_runs_as_its_own_uid()
    {
        WorkspaceFiles.CanChangeOwner.ShouldBeTrue("the orchestrator runs as root; so do these tests");
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "identity-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        using var workspaces = new AgentWorkspaces(Path.Combine(root, "workspaces"), Path.Combine(root, "no-template"));
        var alpha = workspaces.Prepare("alpha", null, Alpha);
        var beta = workspaces.Prepare("beta", null, Beta);
        // World-readable inside: only the folder's owner and 0700 keep it from alpha.
        var secret = Path.Combine(beta, "secret");
        await File.WriteAllTextAsync(secret, "beta's memory");
        WorkspaceFiles.GiveTo(secret, Beta);
        File.SetUnixFileMode(secret, (UnixFileMode)0b110_100_100);
        workspaces.DeliverEnvironment(Context("alpha", "c1-alpha"), Alpha);
        workspaces.DeliverEnvironment(Context("beta", "c1-beta"), Beta);

        // As if a mistake exposed the host's folders to alpha: the whole workspaces root and context root, by their paths.
        var script = """
            id
            cat /learned/workspaces/beta/secret 2>/dev/null && echo "beta-workspace: READ" || echo "beta-workspace: denied"
            ls /learned/workspaces/beta >/dev/null 2>&1 && echo "beta-workspace: LISTED" || echo "beta-workspace-list: denied"
            cat /learned/contexts/c1-beta/env.json 2>/dev/null && echo "beta-context: READ" || echo "beta-context: denied"
            ls /learned/contexts/c1-beta >/dev/null 2>&1 && echo "beta-context: LISTED" || echo "beta-context-list: denied"
            grep -q secret-token-of-alpha /learned/contexts/c1-alpha/env.json && echo "own-context: readable"
            echo mine > /workspace/own && grep -q mine /workspace/own && echo "own-workspace: writable"
            """;
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var output = await RunAsync(new ContainerSpec
        {
            Image = image, Cmd = ["/bin/sh", "-c", script], User = $"{Alpha}:{Alpha}", NetworkDisabled = true,
            HostConfig = new HostConfig
            {
                NetworkMode = "none", CapDrop = ["ALL"], SecurityOpt = ["no-new-privileges"], ReadonlyRootfs = true,
                Binds = [$"{alpha}:/workspace:rw", $"{workspaces.Root}:/learned/workspaces:ro", $"{workspaces.ContextRoot}:/learned/contexts:ro"],
            },
        });

        output.ShouldContain($"uid={Alpha} gid={Alpha}");
        output.ShouldContain("beta-workspace: denied");
        output.ShouldContain("beta-workspace-list: denied");
        output.ShouldContain("beta-context: denied");
        output.ShouldContain("beta-context-list: denied");
        output.ShouldNotContain("secret-token-of-beta");
        output.ShouldNotContain("beta's memory");
        output.ShouldContain("own-context: readable");
        output.ShouldContain("own-workspace: writable");
    }

    [Fact]
    public async Task The_agent_image_runs_as_a_bare_uid_it_has_no_passwd_entry_for()
    {
        // FROM scratch, USER 10001 and no /etc/passwd: a numeric user:group override needs no entry.
        var output = await RunAsync(new ContainerSpec
        {
            Image = docker.Image, User = $"{Alpha}:{Alpha}", NetworkDisabled = true,
            HostConfig = new HostConfig { NetworkMode = "none", CapDrop = ["ALL"], ReadonlyRootfs = true },
        }, expectStart: true);

        output.ShouldNotContain("unable to find user");
    }

    [Fact]
    public async Task A_local_non_root_user_reads_neither_workspaces_nor_database_nor_log()
    {
        // Its own root, traversable by everyone, so only the modes the host sets can stop the local user.
        var root = Directory.CreateTempSubdirectory("cyagents-local-user-").FullName;
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        try
        {
            var settings = Live.Settings(root, new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(30) });
            // Checked while the host runs: its workspaces are mounted quota file systems then (unmounted when it stops).
            await using var economy = await LiveEconomy.StartAsync(settings);
            await economy.RunCyclesAsync(1, TimeSpan.Zero);
            var genesis = Path.Combine(settings.WorkspacesRoot, settings.Live!.Genesis.AgentId);
            var control = Path.Combine(root, "world-readable");
            await File.WriteAllTextAsync(control, "anyone");
            File.SetUnixFileMode(control, (UnixFileMode)0b110_100_100);

            (await AsNobodyAsync("cat", control)).ShouldBe(0, "the local user can read what is meant for everyone");
            foreach (var path in new[] { settings.Database, settings.Log, Path.Combine(genesis, "strategy.json") })
            {
                File.Exists(path).ShouldBeTrue(path);
                (await AsNobodyAsync("cat", path)).ShouldNotBe(0, $"a local user read {path}");
            }
            (await AsNobodyAsync("ls", genesis)).ShouldNotBe(0, "a local user listed a workspace");
            (await AsNobodyAsync("ls", settings.DataDirectory)).ShouldNotBe(0, "a local user listed the data folder");
            File.GetUnixFileMode(settings.DataDirectory).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var file in new[] { settings.Database, settings.Log })
                File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite, file);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Runs a command as uid/gid 65534 (nobody) with no supplementary groups; returns its exit code.</summary>
    private static async Task<int> AsNobodyAsync(string program, string path)
    {
        using var process = Process.Start(new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", program, path])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    private async Task<string> RunAsync(ContainerSpec spec, bool expectStart = false)
    {
        var id = await docker.Engine.CreateContainerAsync(spec with
        {
            Labels = new Dictionary<string, string> { [DockerSandbox.ManagedLabel] = "identity-test" },
        });
        try
        {
            await docker.Engine.StartContainerAsync(id);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await docker.Engine.WaitContainerAsync(id, wait.Token);
            var inspect = (await docker.Engine.InspectContainerAsync(id)).ShouldNotBeNull();
            if (expectStart) inspect.Config.ShouldNotBeNull().User.ShouldBe(spec.User);
            await using var logs = await docker.Engine.FollowLogsAsync(id);
            var lines = new List<string>();
            await new AgentOutput(1024 * 1024, 16 * 1024, l => lines.Add(l.Text)).ReadAsync(logs, wait.Token);
            return string.Join("\n", lines);
        }
        finally
        {
            await docker.Engine.RemoveContainerAsync(id);
        }
    }
}
