using System.Diagnostics;
using System.Text;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.SystemApi.Workspaces.History;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Tests.Workspaces;

/// <summary>
/// Workspace history against hostile workspace contents (ADR 0108): links stay links and are never followed, special files
/// are skipped without blocking, a planted .git, hooks or .gitattributes never reach git as anything but data, bounds cut
/// the snapshot and say so, and nothing outside the workspace ends up in any object.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class WorkspaceHistoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-history-").FullName;
    private string HistoryRoot => Path.Combine(_root, "data", "history");

    private WorkspaceHistory Create(Action<HistoryOptions>? tune = null)
    {
        var options = new HistoryOptions { Root = HistoryRoot };
        tune?.Invoke(options);
        return new WorkspaceHistory(options);
    }

    private string Workspace(string agentId = "a1") => Directory.CreateDirectory(Path.Combine(_root, "workspaces", agentId)).FullName;

    private static ExecutionSnapshot Execution(string id, long cycle, string agentId = "a1", string status = "Succeeded", int? exit = 0) =>
        new(agentId, id, cycle, status, exit, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000 + cycle * 10));

    /// <summary>git on the repository, for inspection (the same safe runner the history uses).</summary>
    private async Task<string> Git(string agentId, params string[] args) =>
        await new GitProcess("git", Directory.CreateDirectory(Path.Combine(_root, "inspect-home")).FullName, TimeSpan.FromSeconds(30))
            .RunAsync(Path.Combine(HistoryRoot, agentId + ".git"), args, null);

    private async Task<string> AllObjects(string agentId) => await Git(agentId, "cat-file", "--batch-all-objects", "--batch");

    [Fact]
    public async Task Every_execution_is_one_commit_even_when_nothing_changed()
    {
        var history = Create();
        var ws = Workspace();
        File.WriteAllText(Path.Combine(ws, "notes.txt"), "hello");

        var first = await history.RecordAsync(Execution("c1-b1", 1), ws, null);
        var second = await history.RecordAsync(Execution("c2-b2", 2, status: "Failed", exit: 3), ws, null);

        second.Parent.ShouldBe(first.Commit);
        var page = (await history.ReadAsync("a1", 0, 20))!;
        page.Total.ShouldBe(2);
        page.Items.Select(c => c.ExecutionId).ShouldBe(["c2-b2", "c1-b1"]);
        page.Items[0].Status.ShouldBe("Failed");
        page.Items[0].ExitCode.ShouldBe(3);
        page.Items[0].Cycle.ShouldBe(2);
        page.Items[0].Diff.ShouldBe(new CyAgents.Contracts.WorkspaceDiffDto(0, 0, 0, 0, 0));
        page.Items[1].Diff.Added.ShouldBe(1);
        page.Items[1].Parent.ShouldBeNull();
        page.Items[0].At.ShouldBe(DateTimeOffset.FromUnixTimeSeconds(1_800_000_020));
        (await Git("a1", "log", "-1", "--format=%an <%ae>", "refs/heads/main")).Trim().ShouldBe("cyagents <cyagents@localhost>");
    }

    [Fact]
    public async Task Recording_the_same_execution_again_adds_no_commit()
    {
        var history = Create();
        var ws = Workspace();
        var first = await history.RecordAsync(Execution("c1-b1", 1), ws, null);

        var again = await history.RecordAsync(Execution("c1-b1", 1), ws, null);

        again.AlreadyRecorded.ShouldBeTrue();
        again.Commit.ShouldBe(first.Commit);
        (await history.ReadAsync("a1", 0, 20))!.Total.ShouldBe(1);
    }

    [Fact]
    public async Task The_diff_summary_counts_files_and_bytes()
    {
        var history = Create();
        var ws = Workspace();
        File.WriteAllText(Path.Combine(ws, "a"), new string('a', 10));
        File.WriteAllText(Path.Combine(ws, "b"), new string('b', 20));
        Directory.CreateDirectory(Path.Combine(ws, "sub"));
        File.WriteAllText(Path.Combine(ws, "sub", "same"), "unchanged");
        await history.RecordAsync(Execution("c1-b1", 1), ws, null);
        File.WriteAllText(Path.Combine(ws, "a"), new string('a', 15));
        File.Delete(Path.Combine(ws, "b"));
        File.WriteAllText(Path.Combine(ws, "sub", "c"), new string('c', 7));

        await history.RecordAsync(Execution("c2-b2", 2), ws, null);

        var newest = (await history.ReadAsync("a1", 0, 1))!.Items.Single();
        newest.Diff.ShouldBe(new CyAgents.Contracts.WorkspaceDiffDto(Added: 1, Modified: 1, Deleted: 1, BytesAdded: 7 + 5, BytesRemoved: 20));
        newest.Files.ShouldBe(3);
        newest.Bytes.ShouldBe(15 + 9 + 7);
    }

    [Fact]
    public async Task Links_are_stored_as_links_and_what_they_point_to_is_never_read()
    {
        var history = Create();
        var secret = Path.Combine(_root, "outside-secret");
        File.WriteAllText(secret, "SECRET-outside-the-workspace-4711");
        var other = Workspace("other");
        File.WriteAllText(Path.Combine(other, "private"), "SECRET-of-another-agent-0815");
        var ws = Workspace();
        File.CreateSymbolicLink(Path.Combine(ws, "shadow"), "/etc/shadow");
        File.CreateSymbolicLink(Path.Combine(ws, "secret"), secret);
        Directory.CreateSymbolicLink(Path.Combine(ws, "neighbour"), other);
        File.CreateSymbolicLink(Path.Combine(ws, "loop"), Path.Combine(ws, "loop"));

        var commit = await history.RecordAsync(Execution("c1-b1", 1), ws, null);

        commit.Summary!.Links.ShouldBe(4);
        var tree = await Git("a1", "ls-tree", "-r", "refs/heads/main");
        tree.Split('\n', StringSplitOptions.RemoveEmptyEntries).ShouldAllBe(line => line.StartsWith("120000 blob "));
        (await Git("a1", "cat-file", "-p", "refs/heads/main:shadow")).ShouldBe("/etc/shadow");
        (await Git("a1", "cat-file", "-p", "refs/heads/main:neighbour")).ShouldBe(other);
        var objects = await AllObjects("a1");
        objects.ShouldNotContain("SECRET-");
        objects.ShouldNotContain("root:"); // /etc/shadow's first line
    }

    [Fact]
    public async Task A_fifo_is_skipped_without_waiting_on_it()
    {
        var history = Create();
        var ws = Workspace();
        File.WriteAllText(Path.Combine(ws, "kept"), "x");
        MakeFifo(Path.Combine(ws, "pipe"));

        var record = history.RecordAsync(Execution("c1-b1", 1), ws, null);
        (await Task.WhenAny(record, Task.Delay(TimeSpan.FromSeconds(20)))).ShouldBe(record, "a FIFO must not stall the snapshot");

        (await record).Summary!.SpecialSkipped.ShouldBe(1);
        (await Git("a1", "ls-tree", "--name-only", "refs/heads/main")).Trim().ShouldBe("kept");
        (await history.ReadAsync("a1", 0, 1))!.Items.Single().Note!.ShouldContain("1 special files skipped");
    }

    [Fact]
    public async Task A_planted_git_folder_hooks_and_gitattributes_are_data_never_instructions()
    {
        var history = Create();
        var ws = Workspace();
        var marker = Path.Combine(_root, "pwned");
        var planted = Directory.CreateDirectory(Path.Combine(ws, ".git")).FullName;
        Directory.CreateDirectory(Path.Combine(planted, "hooks"));
        File.WriteAllText(Path.Combine(planted, "config"),
            $"[core]\n\tfsmonitor = touch {marker}\n\thooksPath = hooks\n[filter \"evil\"]\n\tclean = touch {marker}\n\tsmudge = touch {marker}\n");
        WriteExecutable(Path.Combine(planted, "hooks", "post-commit"), $"#!/bin/sh\ntouch {marker}\n");
        WriteExecutable(Path.Combine(planted, "hooks", "pre-auto-gc"), $"#!/bin/sh\ntouch {marker}\n");
        File.WriteAllText(Path.Combine(ws, ".gitattributes"), "* filter=evil\n");
        File.WriteAllText(Path.Combine(ws, ".gitignore"), "*\n");
        Directory.CreateDirectory(Path.Combine(ws, "hooks"));
        WriteExecutable(Path.Combine(ws, "hooks", "pre-commit"), $"#!/bin/sh\ntouch {marker}\n");
        var sub = Directory.CreateDirectory(Path.Combine(ws, "nested")).FullName;
        File.WriteAllText(Path.Combine(sub, ".GIT"), "gitdir: /etc\n");
        File.WriteAllText(Path.Combine(sub, "code.py"), "print('hi')\n");

        var commit = await history.RecordAsync(Execution("c1-b1", 1), ws, null);
        await history.RecordAsync(Execution("c2-b2", 2), ws, null);
        await history.ReadAsync("a1", 0, 20);

        File.Exists(marker).ShouldBeFalse("no hook, filter or fsmonitor of the workspace may run");
        commit.Summary!.GitSkipped.ShouldBe(2);
        var names = (await Git("a1", "ls-tree", "-r", "--name-only", "refs/heads/main")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        names.ShouldBe([".gitattributes", ".gitignore", "hooks/pre-commit", "nested/code.py"]);
        (await Git("a1", "cat-file", "-p", "refs/heads/main:.gitattributes")).ShouldBe("* filter=evil\n");
        (await Git("a1", "ls-tree", "refs/heads/main", "hooks/pre-commit")).ShouldStartWith("100755 ");
        // The repository's own hooks folder is absent: created without a template.
        Directory.Exists(Path.Combine(HistoryRoot, "a1.git", "hooks")).ShouldBeFalse();
        if (WorkspaceFilesAreRoot)
            File.GetUnixFileMode(Path.Combine(HistoryRoot, "a1.git")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static bool WorkspaceFilesAreRoot => CyAgents.SystemApi.Workspaces.WorkspaceFiles.CanChangeOwner;

    [Fact]
    public async Task A_file_beyond_the_byte_bound_is_left_out_and_the_commit_says_so()
    {
        var history = Create(o => o.MaxBytes = 1024 * 1024);
        var ws = Workspace();
        using (var huge = File.Create(Path.Combine(ws, "huge.bin"))) huge.SetLength(64L * 1024 * 1024 * 1024); // sparse 64 GiB
        File.WriteAllText(Path.Combine(ws, "small"), "fits");

        var commit = await history.RecordAsync(Execution("c1-b1", 1), ws, null);

        commit.Summary!.Truncated.ShouldBeTrue();
        commit.Summary.OmittedBytes.ShouldBe(64L * 1024 * 1024 * 1024);
        (await Git("a1", "ls-tree", "--name-only", "refs/heads/main")).Trim().ShouldBe("small");
        var newest = (await history.ReadAsync("a1", 0, 1))!.Items.Single();
        newest.Truncated.ShouldBeTrue();
        newest.Note!.ShouldContain("truncated");
        (await Git("a1", "log", "-1", "--format=%B", "refs/heads/main")).ShouldContain("Truncated: yes");
    }

    [Fact]
    public async Task Many_files_stop_at_the_entry_bound()
    {
        var history = Create(o => o.MaxEntries = 500);
        var ws = Workspace();
        for (var i = 0; i < 2000; i++) File.WriteAllText(Path.Combine(ws, $"f{i:D5}"), "x");

        var stopwatch = Stopwatch.StartNew();
        var commit = await history.RecordAsync(Execution("c1-b1", 1), ws, null);

        commit.Summary!.Files.ShouldBe(500);
        commit.Summary.Truncated.ShouldBeTrue();
        commit.Summary.Omitted.ShouldBe(1500);
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Deep_folders_stop_at_the_depth_bound()
    {
        var history = Create(o => o.MaxDepth = 3);
        var ws = Workspace();
        var deep = Path.Combine(ws, "1", "2", "3", "4", "5");
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(ws, "1", "2", "3", "kept"), "x");
        File.WriteAllText(Path.Combine(deep, "lost"), "x");

        var commit = await history.RecordAsync(Execution("c1-b1", 1), ws, null);

        commit.Summary!.Truncated.ShouldBeTrue();
        (await Git("a1", "ls-tree", "-r", "--name-only", "refs/heads/main")).Trim().ShouldBe("1/2/3/kept");
    }

    [Fact]
    public async Task Odd_names_are_stored_exactly()
    {
        var history = Create();
        var ws = Workspace();
        string[] names = ["with space", "quote\"d", "new\nline", "back\\slash", "ünïcödé", "tab\tbed", "-dash"];
        foreach (var name in names) File.WriteAllText(Path.Combine(ws, name), name);

        await history.RecordAsync(Execution("c1-b1", 1), ws, null);

        var listed = (await Git("a1", "ls-tree", "-z", "--name-only", "refs/heads/main")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
        listed.Order(StringComparer.Ordinal).ShouldBe(names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_childs_first_commit_follows_its_parents_commit_of_the_spawning_cycle()
    {
        var history = Create();
        var parentWs = Workspace("parent");
        File.WriteAllText(Path.Combine(parentWs, "code"), "v1");
        await history.RecordAsync(Execution("c1-p", 1, "parent"), parentWs, null);
        File.WriteAllText(Path.Combine(parentWs, "code"), "v2");
        var spawning = await history.RecordAsync(Execution("c2-p", 2, "parent"), parentWs, null);
        File.WriteAllText(Path.Combine(parentWs, "code"), "v3");
        await history.RecordAsync(Execution("c3-p", 3, "parent"), parentWs, null); // after the spawn: not the child's origin
        var childWs = Workspace("child");
        File.WriteAllText(Path.Combine(childWs, "code"), "v2");
        File.WriteAllText(Path.Combine(childWs, "child-notes"), "mine");

        var first = await history.RecordAsync(Execution("c4-c", 4, "child"), childWs, new AgentLineage("parent", CreatedCycle: 2));
        var second = await history.RecordAsync(Execution("c5-c", 5, "child"), childWs, new AgentLineage("parent", CreatedCycle: 2));

        first.Parent.ShouldBe(spawning.Commit);
        second.Parent.ShouldBe(first.Commit);
        (await Git("child", "rev-parse", first.Commit + "^")).Trim().ShouldBe(spawning.Commit);
        var page = (await history.ReadAsync("child", 0, 20))!;
        page.Total.ShouldBe(2);
        page.Items.Select(c => c.ExecutionId).ShouldBe(["c5-c", "c4-c"]);
        page.StartedFrom.ShouldBe(new CyAgents.Contracts.WorkspaceOriginDto("parent", spawning.Commit));
        page.Items[1].Diff.ShouldBe(new CyAgents.Contracts.WorkspaceDiffDto(1, 0, 0, 4, 0)); // against the parent's tree: only its notes are new
        (await history.ReadAsync("parent", 0, 20))!.StartedFrom.ShouldBeNull();
    }

    [Fact]
    public async Task A_child_whose_parent_has_no_history_starts_a_root()
    {
        var history = Create();
        var childWs = Workspace("child");

        var first = await history.RecordAsync(Execution("c2-c", 2, "child"), childWs, new AgentLineage("parent", CreatedCycle: 1));

        first.Parent.ShouldBeNull();
        (await history.ReadAsync("child", 0, 20))!.StartedFrom.ShouldBeNull();
    }

    [Fact]
    public async Task Paging_skips_and_takes_from_the_newest()
    {
        var history = Create();
        var ws = Workspace();
        for (var c = 1; c <= 5; c++) await history.RecordAsync(Execution($"c{c}-b", c), ws, null);

        var page = (await history.ReadAsync("a1", 1, 2))!;

        page.Total.ShouldBe(5);
        page.Items.Select(i => i.Cycle).ShouldBe([4L, 3L]);
    }

    [Fact]
    public async Task No_repository_reads_as_no_history()
    {
        (await Create().ReadAsync("never-ran", 0, 20)).ShouldBeNull();
        (await new WorkspaceHistory(new HistoryOptions()).ReadAsync("a1", 0, 20)).ShouldBeNull();
    }

    [Fact]
    public async Task Without_git_the_run_is_told_how_to_get_it()
    {
        var history = Create(o => o.Git = Path.Combine(_root, "no-such-git"));
        var recorder = new ExecutionHistory(history, new AgentWorkspaces(Path.Combine(_root, "workspaces"), Path.Combine(_root, "template")),
            null!, NullLogger<ExecutionHistory>.Instance);

        var line = await recorder.StartAsync(CancellationToken.None);

        line.ShouldNotBeNull();
        line.ShouldContain("apt-get install git");
        recorder.Enabled.ShouldBeFalse();
    }

    private static void MakeFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]))!;
        p.WaitForExit();
        p.ExitCode.ShouldBe(0);
    }

    private static void WriteExecutable(string path, string content)
    {
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }
}
