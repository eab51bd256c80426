using CyAgents.Contracts.Sandbox;
using CyAgents.Orchestrator.Sandbox;

namespace CyAgents.Orchestrator.Tests.Sandbox;

/// <summary>A lease's context folder gets each window's env.json by a staged rename, never through a link (ADR 0138).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LeaseContextsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-lease-ctx-").FullName;

    public void Dispose()
    {
        foreach (var folder in Directory.EnumerateDirectories(_root)) File.SetUnixFileMode(folder, (UnixFileMode)0b111_000_000);
        Directory.Delete(_root, recursive: true);
    }

    private string Execution(string id, string json)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, id)).FullName;
        var file = Path.Combine(folder, AgentEnvironment.FileName);
        File.WriteAllText(file, json);
        File.SetUnixFileMode(file, UnixFileMode.UserRead);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        return folder;
    }

    [Fact]
    public void The_lease_folder_starts_with_the_first_windows_env_and_takes_each_next_one_with_the_same_mode()
    {
        var lease = LeaseContexts.Open(Execution("c1-a", """{"executionId":"c1-a"}"""), "c1-a");

        Path.GetFileName(lease).ShouldBe("lease-c1-a");
        File.ReadAllText(Path.Combine(lease, AgentEnvironment.FileName)).ShouldBe("""{"executionId":"c1-a"}""");
        LeaseContexts.Refresh(lease, Execution("c2-a", """{"executionId":"c2-a"}"""));

        var env = Path.Combine(lease, AgentEnvironment.FileName);
        File.ReadAllText(env).ShouldBe("""{"executionId":"c2-a"}""");
        File.GetUnixFileMode(env).ShouldBe(UnixFileMode.UserRead);
        Directory.EnumerateFileSystemEntries(lease).Select(Path.GetFileName).ShouldBe([AgentEnvironment.FileName]); // no staged leftovers
    }

    [Fact]
    public void A_link_where_env_json_is_is_replaced_and_what_it_points_to_is_left_alone()
    {
        var secret = Path.Combine(_root, "host-secret");
        File.WriteAllText(secret, "root's secret");
        var lease = LeaseContexts.Open(Execution("c1-b", """{"executionId":"c1-b"}"""), "c1-b");
        var env = Path.Combine(lease, AgentEnvironment.FileName);
        File.Delete(env);
        File.CreateSymbolicLink(env, secret);

        LeaseContexts.Refresh(lease, Execution("c2-b", """{"executionId":"c2-b"}"""));

        File.ReadAllText(secret).ShouldBe("root's secret");
        new FileInfo(env).LinkTarget.ShouldBeNull();
        File.ReadAllText(env).ShouldBe("""{"executionId":"c2-b"}""");
    }

    [Fact]
    public void An_execution_context_whose_env_json_is_a_link_is_refused_and_nothing_is_copied()
    {
        var secret = Path.Combine(_root, "host-secret-2");
        File.WriteAllText(secret, "root's secret");
        var lease = LeaseContexts.Open(Execution("c1-c", """{"executionId":"c1-c"}"""), "c1-c");
        var planted = Directory.CreateDirectory(Path.Combine(_root, "c2-c")).FullName;
        File.CreateSymbolicLink(Path.Combine(planted, AgentEnvironment.FileName), secret);

        Should.Throw<CyAgents.SystemApi.Workspaces.UnsafeWorkspaceEntryException>(() => LeaseContexts.Refresh(lease, planted));

        File.ReadAllText(Path.Combine(lease, AgentEnvironment.FileName)).ShouldBe("""{"executionId":"c1-c"}""");
    }
}
