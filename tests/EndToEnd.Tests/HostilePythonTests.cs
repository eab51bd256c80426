using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.Persistence.Records;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The hostile tests of the hardening issue again, with the attacker written in Python and run in the python runtime
/// (ADR 0104): the same attack classes — links out of the workspace, a FIFO, link loops, many files, an output flood
/// without newlines, filling the disk, io_uring through ctypes — and the same containment.
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Hostile")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HostilePythonTests(DockerFixture docker)
{
    private readonly string _root = Directory.CreateDirectory(Path.Combine(docker.Root, "hostile-py-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    private Task<RuntimeRun.Result> RunAsync(string script, TimeSpan window, Func<SandboxOptions, SandboxOptions>? configure = null, WorkspaceQuota? quota = null) =>
        RuntimeRun.RunAsync(docker.Engine, _root, "python", ["python3", "-c", script], window, configure, quota);

    [Fact]
    public async Task Two_hundred_MiB_without_a_newline_from_python_is_capped_split_and_counted_in_one_truncation_event()
    {
        const string script = """
            import sys
            print("start", flush=True)
            chunk = b"A" * 1048576
            for _ in range(200):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.write(b"\n")
            print("done", flush=True)
            """;

        var run = await RunAsync(script, TimeSpan.FromSeconds(60), o => o with { OutputBudgetBytes = 256 * 1024, MaxLineBytes = 4096 });

        run.Outcome.Status.ShouldBe(ExecutionStatus.Succeeded);
        run.Outcome.Logs[0].Text.ShouldBe("start");
        run.Outcome.Logs.Skip(1).ShouldAllBe(l => l.Text.Length <= 4096);
        run.Outcome.Logs.Sum(l => (long)l.Text.Length + 1).ShouldBeLessThanOrEqualTo(256 * 1024 + 4097);
        run.Outcome.OutputBytesDropped.ShouldBeGreaterThanOrEqualTo(209_715_200L - 256 * 1024);
        run.Log.Lines.Count(l => l.Contains("truncated")).ShouldBe(1);
    }

    [Fact]
    public async Task Io_uring_and_a_new_user_namespace_through_ctypes_are_refused()
    {
        const string script = """
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            params = ctypes.create_string_buffer(128)
            r = libc.syscall(425, 1, params)
            print("uring", r, ctypes.get_errno())
            r = libc.unshare(0x10000000)
            print("unshare", r, ctypes.get_errno())
            """;

        var run = await RunAsync(script, TimeSpan.FromSeconds(30));

        run.Outcome.Status.ShouldBe(ExecutionStatus.Succeeded, run.Output);
        run.Output.ShouldContain("uring -1 1"); // EPERM from the seccomp profile
        run.Output.ShouldContain("unshare -1 1");
    }

    [Fact]
    public async Task Filling_the_workspace_from_python_ends_the_execution_as_quota_exceeded()
    {
        const string script = """
            import time
            try:
                with open("/workspace/fill", "wb") as f:
                    for _ in range(500):
                        f.write(b"\0" * 1048576)
                        f.flush()
            except OSError as e:
                print("write failed", e.errno, flush=True)
            time.sleep(30)
            """;
        var hostFreeBefore = WorkspaceQuota.Free(_root)!.Value.FreeBytes;

        var run = await RunAsync(script, TimeSpan.FromSeconds(25), quota: new WorkspaceQuota(16, 1024));

        run.Outcome.Status.ShouldBe(ExecutionStatus.QuotaExceeded);
        run.Outcome.Error.ShouldNotBeNull().ShouldContain("quota of 16 MiB");
        (run.Outcome.EndedAt - run.Outcome.StartedAt!.Value).ShouldBeLessThan(TimeSpan.FromSeconds(20));
        (hostFreeBefore - WorkspaceQuota.Free(_root)!.Value.FreeBytes).ShouldBeLessThan(100L * 1024 * 1024);
    }

    [Fact]
    public async Task Creating_more_files_than_the_quota_allows_from_python_ends_the_execution_as_quota_exceeded()
    {
        const string script = """
            import time
            try:
                for i in range(100000):
                    open(f"/workspace/f{i}", "w").close()
            except OSError as e:
                print("create failed", e.errno, flush=True)
            time.sleep(30)
            """;

        var run = await RunAsync(script, TimeSpan.FromSeconds(25), quota: new WorkspaceQuota(16, 1024));

        run.Outcome.Status.ShouldBe(ExecutionStatus.QuotaExceeded);
        run.Outcome.Error.ShouldNotBeNull().ShouldContain("every file");
    }

    [Fact]
    public async Task A_python_agent_planting_links_a_fifo_loops_and_many_files_then_flooding_and_filling_is_contained_in_live_cycles()
    {
        const string hostile = "hostile-py";
        var image = await RuntimeRun.ImageAsync(docker.Engine, "python");
        var run = await HostileLiveCycles.PrepareAsync(Directory.CreateDirectory(Path.Combine(_root, "cycle")).FullName);
        var (secret, genesisWorkspace, template) = (run.Secret, run.GenesisWorkspace, run.Template);

        var plant = $$"""
            import os, json
            os.chdir("/workspace")
            os.mkfifo("env.json"); print("planted fifo")
            for name in ["journal", "strategy.json", "memory.json"]:
                if os.path.lexists(name): os.remove(name)  # replace the template's own files with links
                os.symlink("{{secret}}", name)
            os.symlink("{{genesisWorkspace}}", "neighbour"); os.symlink("{{template}}", "template"); os.symlink("/", "hostroot")
            os.symlink("loop-b", "loop-a"); os.symlink("loop-a", "loop-b"); os.symlink(".", "self")
            os.makedirs("deep/er"); os.symlink("{{secret}}", "deep/er/secret"); os.symlink("{{genesisWorkspace}}/strategy.json", "deep/er/theirs")
            for i in range(1, 3001):
                open(str(i), "w").close()
            print("planted many")
            env = os.environ["CYAGENTS_ENV"]
            if "executionId" in json.load(open(env)): print("env: readable at", env)
            try:
                open(env, "w"); print("env: WRITABLE")
            except OSError:
                print("env: read-only")
            try:
                os.remove(env); print("env: REMOVED")
            except OSError:
                print("env: not removable")
            try:
                os.symlink("{{secret}}", "/run/cyagents-env/evil"); print("context: WRITABLE")
            except OSError:
                print("context: read-only")
            try:
                print(open("{{secret}}").read())
            except OSError:
                print("secret: unreachable")
            print("planted")
            """;
        const string again = """
            import os, stat, json
            os.chdir("/workspace")
            if stat.S_ISFIFO(os.lstat("env.json").st_mode): print("fifo still here")
            print(len(os.listdir(".")))
            print('"executionId": "' + json.load(open(os.environ["CYAGENTS_ENV"]))["executionId"] + '"')
            print("again")
            """;
        const string flood = """
            import sys
            print("flooding", flush=True)
            chunk = b"A" * 1048576
            for _ in range(200):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.write(b"\n")
            print("flooded", flush=True)
            """;
        const string fill = """
            import time
            try:
                with open("/workspace/fill", "wb") as f:
                    for _ in range(400):
                        f.write(b"\0" * 1048576)
                        f.flush()
            except OSError as e:
                print("write failed", e.errno, flush=True)
            time.sleep(60)
            """;
        await run.RunContainedAsync(docker, hostile, outcomes => HostileAgent.AsProgram(hostile,
            cycle => new AgentProgram(image, ["python3", "-c", cycle switch { 1 => plant, 2 => again, 3 => flood, _ => fill }]), outcomes));
    }
}
