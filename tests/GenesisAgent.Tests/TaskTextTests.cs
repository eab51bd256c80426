using System.Text.Json;
using CyAgents.Contracts;

namespace CyAgents.GenesisAgent.Tests;

public sealed class TaskTextTests
{
    [Fact]
    public void Every_task_of_the_shipped_feed_with_a_content_line_is_mechanical_and_the_one_without_is_not()
    {
        using var feed = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "tasks", "feed.json")));
        var parsed = feed.RootElement.GetProperty("tasks").EnumerateArray()
            .ToDictionary(t => t.GetProperty("key").GetString()!, t => TaskText.Parse(t.GetProperty("description").GetString()));

        parsed["hello-file"].ShouldBe(("hello.txt", "hello, cyagents"));
        parsed["greeting-file"].ShouldBe(("greeting.txt", "agents earn credits by doing work"));
        parsed["sum-to-1000"].ShouldBe(("sum.txt", "500500"));
        parsed["first-primes"].ShouldBe(("primes.txt", "2,3,5,7,11,13,17,19,23,29,31,37,41,43,47,53,59,61,67,71,73,79,83,89,97"));
        parsed["fibonacci-30"].ShouldBeNull();
    }

    [Theory]
    [InlineData("../escape.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/dir.txt")]
    [InlineData("back\\slash.txt")]
    [InlineData(".bashrc")]
    [InlineData("..")]
    [InlineData("strategy.json")]
    [InlineData("Agent.PY")]
    [InlineData("memory.json")]
    [InlineData("has space.txt")]
    [InlineData("naïve.txt")]
    [InlineData("")]
    public void A_file_that_is_not_a_plain_new_name_in_the_workspace_root_is_refused(string name)
    {
        TaskText.IsPlainFileName(name).ShouldBeFalse();
        TaskText.Parse($"file: {name}\ncontent: x").ShouldBeNull();
    }

    [Fact]
    public void Names_and_contents_are_bounded()
    {
        TaskText.Parse($"file: {new string('a', TaskText.MaxFileNameLength)}\ncontent: x").ShouldNotBeNull();
        TaskText.Parse($"file: {new string('a', TaskText.MaxFileNameLength + 1)}\ncontent: x").ShouldBeNull();
        TaskText.Parse($"file: a.txt\ncontent: {new string('x', TaskText.MaxContentLength)}").ShouldNotBeNull();
        TaskText.Parse($"file: a.txt\ncontent: {new string('x', TaskText.MaxContentLength + 1)}").ShouldBeNull();
    }

    [Theory]
    [InlineData("file: a.txt\nfile: b.txt\ncontent: x")]
    [InlineData("file: a.txt\ncontent: x\ncontent: y")]
    [InlineData("content: x")]
    [InlineData("file: a.txt")]
    [InlineData(null)]
    public void A_description_that_does_not_say_exactly_one_file_and_one_content_is_no_mechanical_task(string? description) =>
        TaskText.Parse(description).ShouldBeNull();

    [Fact]
    public void Windows_line_ends_and_spaces_around_the_value_do_not_count()
    {
        TaskText.Parse("Do it.\r\nfile:  hello.txt \r\ncontent:  hello, cyagents \r\n").ShouldBe(("hello.txt", "hello, cyagents"));
    }

    [Fact]
    public void Two_tasks_for_the_same_file_in_one_turn_give_only_the_better_paid_one()
    {
        var tasks = new[] { Task("a", "file: x.txt\ncontent: 1", 10), Task("b", "file: x.txt\ncontent: 2", 20) };

        var chosen = TaskText.Choose(tasks, "me", new HashSet<string>(), new HashSet<string>(), (_, _) => false, 4);

        chosen.ShouldHaveSingleItem().ShouldBe(new MechanicalTask("b", "x.txt", "2", 20));
    }

    private static TaskResponse Task(string id, string description, long reward) =>
        new(id, id, description, reward, null, 1, 30, new TaskVerifierDto("command"), "Open", null, null, $"task:{id}:escrow");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tasks", "feed.json"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
