using System.CommandLine;
using System.Data.Common;
using CyAgents.Persistence;
using CyAgents.Persistence.Audit;
using CyAgents.SystemApi.Logging;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// The <c>audit</c> verb: <c>audit verify</c> checks system.log's hash chain (ADR 0112) and checkpoints (ADR 0131) and names the
/// first broken line; <c>audit agent</c> (<see cref="AuditAgentCommand"/>) reports one agent's economy per cycle.
/// </summary>
public static class AuditCommand
{
    /// <summary>Exit code when the chain is broken.</summary>
    public const int Broken = ExitCodes.Failure;

    /// <summary>Builds the command with its subcommands and help text.</summary>
    public static Command Create()
    {
        var log = new Option<string>("--log")
        {
            Description = "The log to check: the first file of the rolled sequence (default data/system.log); its rolled files are checked too, oldest first.",
            HelpName = "PATH",
        };
        var db = new Option<string?>("--db")
        {
            Description = "The run's SQLite database, whose checkpoints the log is compared with (default: cyagents.db beside the log, if there is one).",
            HelpName = "FILE",
        };
        var verify = new Command("verify", """
            Check that system.log is as it was written: every line carries the hash of the line before it (across
            rolled files) and its own, and the lines the run checkpointed in its database (every 1000 lines and at each
            cycle's end) still have the hashes recorded there. Prints "intact: N lines" (and how many checkpoints
            matched) and exits 0, or names the first edited, removed or reordered line as FILE:LINE with what is wrong
            and exits 1; a log rewritten with a new valid chain, or cut short, fails at the first checkpoint it no longer
            matches. Without a database only the chain is checked.

            Example:
              cyagents audit verify --log data/system.log
              cyagents audit verify --log data/system.log --db data/cyagents.db
            """)
        { log, db };
        verify.SetAction(async (parse, ct) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(log) ?? "data/system.log";
            if (SystemLog.Files(path).Count == 0)
            {
                stderr.WriteLine($"cyagents audit verify: no log at {path}");
                return ExitCodes.Usage;
            }
            var database = parse.GetValue(db);
            if (database is not null && !File.Exists(database))
            {
                stderr.WriteLine($"cyagents audit verify: no database at {database}");
                return ExitCodes.Database;
            }
            database ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "cyagents.db") is var beside && File.Exists(beside) ? beside : null;
            try
            {
                var checkpoints = database is null ? [] : await CheckpointsAsync(database, ct);
                var finding = AuditVerifier.Verify(path, checkpoints);
                if (finding.Intact)
                {
                    stdout.WriteLine(database is null ? $"intact: {finding.Lines} lines"
                        : $"intact: {finding.Lines} lines, {finding.CheckpointsMatched} of {checkpoints.Count} checkpoints matched");
                    return ExitCodes.Ok;
                }
                stderr.WriteLine($"cyagents audit verify: {finding.File}:{finding.LineNumber}: {finding.Problem}");
                return Broken;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"cyagents audit verify: {e.Message}");
                return ExitCodes.Failure;
            }
            catch (Exception e) when (e is DbException or InvalidOperationException { InnerException: DbException })
            {
                stderr.WriteLine($"cyagents audit verify: cannot read the checkpoints in {database}: {e.Message.Split('\n')[0].Trim()}");
                return ExitCodes.Database;
            }
        });
        return new Command("audit", "Audit the run: `audit verify` checks system.log's hash chain and checkpoints; `audit agent ID` tells what an agent bid, won, paid, earned and spent, and why.")
        {
            verify, AuditAgentCommand.Create(),
        };
    }

    /// <summary>The checkpoints stored in a run's database, read-only (verifying must never change the run's state).</summary>
    internal static async Task<IReadOnlyList<AuditMark>> CheckpointsAsync(string database, CancellationToken ct)
    {
        var options = new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={database};Mode=ReadOnly" }.BuildOptions();
        await using var db = new CyAgentsDbContext(options);
        // A database from before checkpoints (schema version 5 or older) has none.
        var exists = await db.Database.SqlQueryRaw<int>(
            "SELECT COUNT(*) AS \"Value\" FROM sqlite_master WHERE type = 'table' AND name = 'audit_checkpoints'").SingleAsync(ct);
        if (exists == 0) return [];
        var rows = await db.Set<AuditCheckpointRecord>().AsNoTracking().OrderBy(c => c.Id).ToListAsync(ct);
        return rows.Select(c => new AuditMark(c.File, c.Line, c.Offset, c.Hash, c.At)).ToList();
    }
}
