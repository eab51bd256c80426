using System.CommandLine;
using CyAgents.Orchestrator.Commands;
using CyAgents.Persistence;
using CyAgents.Persistence.Audit;
using CyAgents.SystemApi.Logging;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace CyAgents.Orchestrator.Tests.Logging;

/// <summary>
/// Checkpoints of the chain in the database (ADR 0131) and <c>audit verify</c> against them: an untouched log matches; a log
/// rewritten with a new valid chain, or cut short, no longer does, though its chain alone still holds.
/// </summary>
public sealed class AuditCheckpointTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-checkpoints-").FullName;
    private string LogPath => Path.Combine(_root, "data", "system.log");
    private string DatabasePath => Path.Combine(_root, "data", "cyagents.db");
    private DatabaseOptions Database => DatabaseOptions.ForSqliteFile(DatabasePath);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    private void WriteLog(int events, long fileSize = 1024 * 1024, int from = 0)
    {
        using var log = SystemLog.Create(LogPath, options: new SystemLogOptions { FileSizeLimitBytes = fileSize, RetainedFileCount = 100 });
        for (var i = from; i < from + events; i++) log.Information("Event {Number} of the checkpoint test", i);
    }

    private AuditCheckpoints Checkpointer(int everyLines) =>
        new(LogPath, new PooledDbContextFactory<CyAgentsDbContext>(Database.BuildOptions()), TimeProvider.System,
            new AuditCheckpointOptions { EveryLines = everyLines });

    private async Task<List<AuditCheckpointRecord>> StoredAsync()
    {
        await using var db = new CyAgentsDbContext(Database.BuildOptions());
        return await db.Set<AuditCheckpointRecord>().OrderBy(c => c.Id).ToListAsync();
    }

    private (int Exit, string Out, string Err) Verify(params string[] extra)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = new RootCommand { AuditCommand.Create() }.Parse(["audit", "verify", "--log", LogPath, .. extra])
            .Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    private async Task<string> CheckpointedLogAsync(int lines, int everyLines)
    {
        await DatabaseSetup.EnsureCreatedAsync(Database);
        WriteLog(lines);
        (await Checkpointer(everyLines).CheckpointAsync(CancellationToken.None)).ShouldBeGreaterThan(0);
        return SystemLog.Files(LogPath).Single();
    }

    [Fact]
    public async Task Checkpoints_are_taken_every_n_lines_and_at_the_end_and_resume_after_a_restart_without_repeats()
    {
        await DatabaseSetup.EnsureCreatedAsync(Database);
        WriteLog(25);
        var first = Checkpointer(everyLines: 10);
        (await first.CheckpointAsync(CancellationToken.None)).ShouldBe(3);
        (await first.CheckpointAsync(CancellationToken.None)).ShouldBe(0); // nothing new: nothing stored
        WriteLog(12, from: 25);
        // A new process resumes at the last checkpoint (line 25) and reads only what was written since.
        (await Checkpointer(everyLines: 10).CheckpointAsync(CancellationToken.None)).ShouldBe(2);

        var stored = await StoredAsync();
        stored.Select(c => c.Line).ShouldBe([10L, 20L, 25L, 30L, 37L]);
        stored.ShouldAllBe(c => c.File == "system.log");
        var lines = File.ReadAllLines(LogPath);
        foreach (var c in stored) AuditChain.TryReadHash(lines[c.Line - 1]).ShouldBe(c.Hash);
        // The offset is just after the checkpointed line's newline.
        stored[^1].Offset.ShouldBe(new FileInfo(LogPath).Length);
    }

    [Fact]
    public async Task Checkpoints_follow_the_log_across_rolled_files()
    {
        await DatabaseSetup.EnsureCreatedAsync(Database);
        WriteLog(200, fileSize: 8 * 1024);
        var files = SystemLog.Files(LogPath);
        files.Count.ShouldBeGreaterThan(2);
        await Checkpointer(everyLines: 1000).CheckpointAsync(CancellationToken.None);

        // Every file's last line is checkpointed (a rolled file is final), and verify matches them all.
        (await StoredAsync()).Select(c => c.File).ShouldBe(files.Select(Path.GetFileName));
        var (exit, output, error) = Verify();
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.Trim().ShouldBe($"intact: 200 lines, {files.Count} of {files.Count} checkpoints matched");
    }

    [Fact]
    public async Task An_untouched_log_matches_its_checkpoints()
    {
        await CheckpointedLogAsync(50, everyLines: 10);
        var (exit, output, error) = Verify("--db", DatabasePath);
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.Trim().ShouldBe("intact: 50 lines, 5 of 5 checkpoints matched");
    }

    [Fact]
    public async Task A_log_rewritten_with_a_new_valid_chain_fails_at_the_first_checkpoint_after_the_change()
    {
        var file = await CheckpointedLogAsync(50, everyLines: 10);
        // The attacker edits line 5 and recomputes every hash from there: the chain alone holds.
        var lines = File.ReadAllLines(file);
        var prev = AuditChain.Genesis;
        for (var i = 0; i < lines.Length; i++)
        {
            AuditChain.TryRead(lines[i], out _, out _, out var body).ShouldBeTrue();
            if (i == 4) body = body.Replace("Event 4 ", "Event 40 ");
            lines[i] = AuditChain.Line(prev, body);
            prev = AuditChain.TryReadHash(lines[i])!;
        }
        File.WriteAllLines(file, lines);
        AuditVerifier.Verify(LogPath).Intact.ShouldBeTrue();

        var (exit, _, error) = Verify();
        exit.ShouldBe(AuditCommand.Broken);
        error.Trim().ShouldStartWith($"cyagents audit verify: {file}:10: the chain holds but the line differs from the checkpoint taken at ");
        error.ShouldContain("the log was rewritten and re-chained at or before this line");
    }

    [Fact]
    public async Task A_log_cut_short_fails_naming_the_last_checkpointed_line_it_lost()
    {
        var file = await CheckpointedLogAsync(50, everyLines: 10);
        File.WriteAllLines(file, File.ReadAllLines(file)[..43]);
        AuditVerifier.Verify(LogPath).Intact.ShouldBeTrue();

        var (exit, _, error) = Verify();
        exit.ShouldBe(AuditCommand.Broken);
        error.Trim().ShouldStartWith($"cyagents audit verify: {file}:50: the line is missing: the log ends at {file}:43, but a checkpoint taken at ");
        error.ShouldContain("lines were removed from the end of the log");
    }

    [Fact]
    public void A_database_named_but_missing_is_a_one_line_error()
    {
        WriteLog(3);
        var (exit, _, error) = Verify("--db", Path.Combine(_root, "nope.db"));
        exit.ShouldBe(ExitCodes.Database);
        error.Trim().ShouldBe($"cyagents audit verify: no database at {Path.Combine(_root, "nope.db")}");
    }
}
