using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces.History;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// <c>cyagents agents history ID</c>: an agent's workspace history (ADR 0108), one commit per execution, newest first, with a
/// diff summary each. Reads the database (read-only) and the agent's history repository; works whether or not <c>run</c> runs.
/// An unknown agent exits 2, an agent with no history yet 1, a database that cannot be read 5 — each with one line on stderr.
/// </summary>
public static class AgentsHistoryCommand
{
    /// <summary>The <c>history</c> subcommand of <c>agents</c>.</summary>
    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "The agent's id, e.g. genesis-0." };
        var data = new Option<string>("--data")
        {
            Description = "The data folder of the run (database, history/).", DefaultValueFactory = _ => "data",
        };
        var db = new Option<string?>("--db") { Description = "SQLite database file (default: <data>/cyagents.db)." };
        var skip = new Option<int>("--skip") { Description = "Leave out this many of the newest commits.", DefaultValueFactory = _ => 0 };
        var take = new Option<int>("--take") { Description = "Show at most this many commits (1..1000).", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "Print the page as JSON, as GET /v1/agents/{id}/history answers." };

        var command = new Command("history", """
            Lists an agent's workspace history, newest execution first: after every execution the orchestrator records the
            agent's workspace as a commit in <data>/history/<id>.git. Each line: execution id, cycle, status, exit code,
            files added/modified/deleted (+ ~ -) and bytes added/removed against the commit before, the commit id.
            A spawned child's history starts from its parent's commit (shown as "started from").

            Example:
              cyagents agents history genesis-0
              cyagents agents history genesis-0 --take 5 --json

            An unknown agent exits 2, an agent without history yet exits 1; each prints one line on stderr.
            """)
        {
            id, data, db, skip, take, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var agentId = parse.GetValue(id)!;
            if (parse.GetValue(take) is < 1 or > 1000 || parse.GetValue(skip) < 0)
            {
                stderr.WriteLine("cyagents agents history: --take must be 1..1000 and --skip not negative.");
                return ExitCodes.Usage;
            }
            var dataFolder = RunCommand.FromRepository(parse.GetValue(data)!);
            var database = parse.GetValue(db) is { } file ? RunCommand.FromRepository(file) : Path.Combine(dataFolder, "cyagents.db");
            try
            {
                if (!File.Exists(database))
                {
                    stderr.WriteLine($"cyagents agents history: no database at {database} (has run started with --data {parse.GetValue(data)}?).");
                    return ExitCodes.Database;
                }
                if (!await AgentExistsAsync(database, agentId, ct))
                {
                    stderr.WriteLine($"cyagents agents history: no agent '{agentId}' in {database}.");
                    return ExitCodes.Usage;
                }
                var history = new WorkspaceHistory(new HistoryOptions { Root = Path.Combine(dataFolder, "history") });
                var page = await history.ReadAsync(agentId, parse.GetValue(skip), parse.GetValue(take), ct);
                if (page is null)
                {
                    stderr.WriteLine($"cyagents agents history: agent '{agentId}' has no workspace history yet (it has not run since history was recorded).");
                    return ExitCodes.Failure;
                }
                stdout.Write(parse.GetValue(json)
                    ? JsonSerializer.Serialize(page, ContractsJsonContext.Default.WorkspaceHistoryPage) + "\n"
                    : Format(page));
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is DbException or InvalidOperationException { InnerException: DbException })
            {
                stderr.WriteLine($"cyagents agents history: cannot read the database {database}: {e.Message.Split('\n')[0].Trim()}");
                return ExitCodes.Database;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                stderr.WriteLine($"cyagents agents history: cannot read the history of '{agentId}': {e.Message.Split('\n')[0].Trim()}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    private static async Task<bool> AgentExistsAsync(string database, string agentId, CancellationToken ct)
    {
        // Read-only: looking at history must never create or change the database of a run.
        var options = new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={database};Mode=ReadOnly" }.BuildOptions();
        await using var db = new CyAgentsDbContext(options);
        return await db.Set<AgentRecord>().AnyAsync(a => a.Id == agentId, ct);
    }

    /// <summary>The page as text: a header line, one line per commit, and where a child's history starts.</summary>
    public static string Format(WorkspaceHistoryPage page)
    {
        var text = new System.Text.StringBuilder();
        var shown = page.Items.Count == 0 ? "none shown" : $"{page.Skip + 1}..{page.Skip + page.Items.Count} shown";
        text.Append(CultureInfo.InvariantCulture, $"{page.AgentId}: {page.Total} executions recorded ({shown}), newest first\n");
        // Execution ids run up to 64 characters: the column is as wide as the longest shown.
        var width = Math.Max("EXECUTION".Length, page.Items.Select(c => c.ExecutionId.Length).DefaultIfEmpty(0).Max());
        text.Append(CultureInfo.InvariantCulture, $"{"EXECUTION".PadRight(width)} {"CYCLE",6} {"STATUS",-14} {"EXIT",4} {"FILES +/~/-",12} {"BYTES +/-",16}  COMMIT\n");
        foreach (var c in page.Items)
        {
            var files = $"+{c.Diff.Added} ~{c.Diff.Modified} -{c.Diff.Deleted}";
            var bytes = $"+{c.Diff.BytesAdded} -{c.Diff.BytesRemoved}";
            var exit = c.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-";
            text.Append(CultureInfo.InvariantCulture, $"{c.ExecutionId.PadRight(width)} {c.Cycle,6} {c.Status,-14} {exit,4} {files,12} {bytes,16}  {c.Commit[..12]}");
            if (c.Note is not null) text.Append("  (").Append(c.Note).Append(')');
            text.Append('\n');
        }
        if (page.StartedFrom is { } origin)
            text.Append(CultureInfo.InvariantCulture, $"started from {origin.AgentId} at {origin.Commit[..12]}\n");
        return text.ToString();
    }
}
