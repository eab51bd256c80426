using System.Diagnostics;
using CyAgents.SystemApi.Workspaces;

namespace CyAgents.SystemApi.Tests.Workspaces;

/// <summary>Copying a tree an agent may be changing: plain files and folders only, nothing resolved through a link.</summary>
public sealed class HostileTreeCopyTests
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-hostile-copy-").FullName;

    private (string From, string To) Folders()
    {
        var from = Directory.CreateDirectory(Path.Combine(_root, "from")).FullName;
        var to = Directory.CreateDirectory(Path.Combine(_root, "to")).FullName;
        return (from, to);
    }

    [Fact]
    public void Files_and_folders_are_copied_with_their_content_and_without_group_or_other_write()
    {
        var (from, to) = Folders();
        Directory.CreateDirectory(Path.Combine(from, "a", "b"));
        File.WriteAllText(Path.Combine(from, "a", "b", "c.txt"), "deep");
        File.WriteAllText(Path.Combine(from, "top.py"), "print(1)");
        File.SetUnixFileMode(Path.Combine(from, "top.py"), (UnixFileMode)0b111_111_111);

        HostileTreeCopy.Copy(from, to, TreeLimits.Default);

        File.ReadAllText(Path.Combine(to, "a", "b", "c.txt")).ShouldBe("deep");
        File.GetUnixFileMode(Path.Combine(to, "top.py")).ShouldBe((UnixFileMode)0b111_101_101);
    }

    [Fact]
    public void A_link_to_a_folder_outside_is_refused_and_nothing_behind_it_is_read()
    {
        var (from, to) = Folders();
        var outside = Directory.CreateDirectory(Path.Combine(_root, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "secret"), "host");
        Directory.CreateDirectory(Path.Combine(from, "sub"));
        Directory.CreateSymbolicLink(Path.Combine(from, "sub", "etc"), outside);

        Should.Throw<UnsafeWorkspaceEntryException>(() => HostileTreeCopy.Copy(from, to, TreeLimits.Default)).Message.ShouldContain("symbolic link");

        Directory.EnumerateFiles(to, "secret", SearchOption.AllDirectories).ShouldBeEmpty();
    }

    [Fact]
    public void A_fifo_is_refused_without_blocking()
    {
        var (from, to) = Folders();
        Process.Start("mkfifo", Path.Combine(from, "pipe"))!.WaitForExit();

        Should.Throw<UnsafeWorkspaceEntryException>(() => HostileTreeCopy.Copy(from, to, TreeLimits.Default)).Message.ShouldContain("not a regular file");
    }

    [Fact]
    public void The_top_folder_being_a_link_is_refused()
    {
        var (from, to) = Folders();
        var link = Path.Combine(_root, "link");
        Directory.CreateSymbolicLink(link, from);

        Should.Throw<UnsafeWorkspaceEntryException>(() => HostileTreeCopy.Copy(link, to, TreeLimits.Default));
    }

    [Fact]
    public void The_limits_stop_a_tree_that_is_too_big()
    {
        var (from, to) = Folders();
        for (var i = 0; i < 20; i++) File.WriteAllText(Path.Combine(from, $"f{i}"), "x");

        Should.Throw<UnsafeWorkspaceEntryException>(() => HostileTreeCopy.Copy(from, to, new TreeLimits(MaxEntries: 10)))
            .Message.ShouldContain("more than 10 entries");
        Should.Throw<UnsafeWorkspaceEntryException>(() => HostileTreeCopy.Copy(from, Directory.CreateDirectory(Path.Combine(_root, "to2")).FullName,
            new TreeLimits(MaxBytes: 5))).Message.ShouldContain("more than 5 bytes");
    }
}
