using System.CommandLine;
using System.Text;
using System.Text.RegularExpressions;
using CyAgents.Orchestrator.Commands;
using CyAgents.SystemApi.Logging;

namespace CyAgents.Orchestrator.Tests.Logging;

/// <summary><c>cyagents audit verify</c> on a real system.log: intact, one byte changed, a line removed, two lines swapped, across rolled files.</summary>
public sealed class AuditVerifyTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-audit-").FullName;
    private string LogPath => Path.Combine(_root, "logs", "system.log");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Writes <paramref name="events"/> events through the real logger, small files so the log rolls.</summary>
    private List<string> WriteLog(int events, long fileSize = 64 * 1024)
    {
        using (var log = SystemLog.Create(LogPath, options: new SystemLogOptions { FileSizeLimitBytes = fileSize, RetainedFileCount = 100 }))
            for (var i = 0; i < events; i++) log.Information("Event {Number} of the audit test", i);
        return SystemLog.Files(LogPath).ToList();
    }

    private (int Exit, string Out, string Err) Verify(params string[] extra)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = new RootCommand { AuditCommand.Create() }.Parse(["audit", "verify", .. extra])
            .Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void An_untouched_log_is_intact_across_rolled_files_and_after_a_restart_continues_the_chain()
    {
        WriteLog(300, fileSize: 8 * 1024).Count.ShouldBeGreaterThan(1);
        WriteLog(20, fileSize: 8 * 1024); // a second writer process, later: it links to the last line written
        var (exit, output, error) = Verify("--log", LogPath);
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.Trim().ShouldBe("intact: 320 lines");
    }

    [Fact]
    public void One_changed_byte_is_reported_at_its_line()
    {
        var file = WriteLog(50)[0];
        var lines = File.ReadAllLines(file);
        lines[16] = lines[16].Replace("Event 16 ", "Event 17 ");
        File.WriteAllLines(file, lines);
        var (exit, _, error) = Verify("--log", LogPath);
        exit.ShouldBe(AuditCommand.Broken);
        error.Trim().ShouldBe($"cyagents audit verify: {file}:17: the line was edited (its hash does not match its content)");
    }

    [Fact]
    public void A_removed_line_is_reported_at_the_line_after_the_gap()
    {
        var file = WriteLog(50)[0];
        var lines = File.ReadAllLines(file).ToList();
        lines.RemoveAt(30);
        File.WriteAllLines(file, lines);
        var (exit, _, error) = Verify("--log", LogPath);
        exit.ShouldBe(AuditCommand.Broken);
        error.ShouldContain($"{file}:31: the line does not follow the one before it");
    }

    [Fact]
    public void Two_swapped_lines_are_reported_at_the_first_of_them()
    {
        var file = WriteLog(50)[0];
        var lines = File.ReadAllLines(file);
        (lines[9], lines[10]) = (lines[10], lines[9]);
        File.WriteAllLines(file, lines);
        var (exit, _, error) = Verify("--log", LogPath);
        exit.ShouldBe(AuditCommand.Broken);
        error.ShouldContain($"{file}:10: the line does not follow the one before it");
    }

    [Fact]
    public void The_readme_audit_verify_example_runs_as_written()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var example = Regex.Match(readme, @"`cyagents (audit verify --log [^`]+)`");
        example.Success.ShouldBeTrue("README.md must show the audit verify example");
        var args = example.Groups[1].Value.Split(' ');
        args[^1].ShouldBe("data/system.log");
        // Run in a folder laid out as `run` leaves it: data/system.log.
        var data = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        using (var log = SystemLog.Create(Path.Combine(data, "system.log")))
            log.Information("one line");
        args[^1] = Path.Combine(data, "system.log");
        var (exit, output, _) = Verify(args[2..]);
        exit.ShouldBe(0);
        output.Trim().ShouldBe("intact: 1 lines");
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CyAgents.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("CyAgents.sln not found above the test folder");
    }
}
