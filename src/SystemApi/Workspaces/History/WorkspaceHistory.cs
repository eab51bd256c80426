using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CyAgents.Contracts;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Workspaces.History;

/// <summary>The execution a snapshot records: the commit message and its timestamp come from it alone.</summary>
/// <param name="AgentId">The agent whose workspace it is.</param>
/// <param name="ExecutionId">The execution.</param>
/// <param name="Cycle">Its cycle.</param>
/// <param name="Status">Its outcome.</param>
/// <param name="ExitCode">The agent's exit code, when it exited.</param>
/// <param name="At">When it ended: the commit's author and committer time, so a replay gives the same commit id.</param>
public sealed record ExecutionSnapshot(string AgentId, string ExecutionId, long Cycle, string Status, int? ExitCode, DateTimeOffset At);

/// <summary>Who an agent descends from: its first commit follows the parent's commit from a cycle up to <paramref name="CreatedCycle"/>.</summary>
public sealed record AgentLineage(string ParentId, long CreatedCycle);

/// <summary>A commit the history made (or found already made for the same execution).</summary>
public sealed record RecordedCommit(string Commit, string? Parent, SnapshotSummary? Summary, bool AlreadyRecorded);

/// <summary>
/// Each agent's workspace history (ADR 0108): one bare git repository per agent, <c>&lt;root&gt;/&lt;agent-id&gt;.git</c>, root-owned
/// and 0700 under a folder no agent can reach; one commit per execution on <c>refs/heads/main</c>, even when nothing
/// changed, so the log shows every execution. The workspace is walked by <see cref="WorkspaceSnapshot"/> and fed to one
/// <c>git fast-import</c>; git never sees the workspace as a work tree. A child's repository starts with its parent's
/// objects (fetched from the parent's repository) and <c>refs/cyagents/origin</c> at the parent's commit its first commit follows.
/// </summary>
public sealed class WorkspaceHistory
{
    /// <summary>The branch every execution's commit goes on.</summary>
    public const string Branch = "refs/heads/main";
    /// <summary>For a child: the parent's commit its history starts from.</summary>
    public const string OriginRef = "refs/cyagents/origin";
    private const string Author = "cyagents <cyagents@localhost>";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly HistoryOptions _options;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _agents = new(StringComparer.Ordinal);
    private GitProcess? _git;

    public WorkspaceHistory(IOptions<HistoryOptions> options) : this(options.Value) { }

    public WorkspaceHistory(HistoryOptions options)
    {
        _options = options;
        Root = string.IsNullOrWhiteSpace(options.Root) ? null : Path.GetFullPath(options.Root);
    }

    /// <summary>The folder of the repositories, or null when history is off (not configured).</summary>
    public string? Root { get; }

    /// <summary>The limits a snapshot keeps to.</summary>
    public HistoryOptions Options => _options;

    /// <summary>The git directory of one agent (not created).</summary>
    public string RepositoryOf(string agentId)
    {
        if (Root is null) throw new InvalidOperationException("workspace history is off (History:Root is not set)");
        if (string.IsNullOrWhiteSpace(agentId) || agentId.IndexOfAny(['/', '\\', '\0', '\n']) >= 0 || agentId.StartsWith('.'))
            throw new ArgumentException($"'{agentId}' is not a valid agent id for a history repository", nameof(agentId));
        return Path.Combine(Root, agentId + ".git");
    }

    /// <summary>git's version line, or null when git cannot be started (then history is not recorded; `apt-get install git`).</summary>
    public Task<string?> GitVersionAsync(CancellationToken ct = default) => Git().VersionAsync(ct);

    /// <summary>
    /// Records <paramref name="workspace"/> as <paramref name="execution"/>'s commit. The agent's first commit follows the
    /// commit of its <paramref name="lineage"/>'s parent when that parent has one; later ones follow the agent's previous
    /// commit. Recording the same execution again returns the commit already made.
    /// </summary>
    public async Task<RecordedCommit> RecordAsync(ExecutionSnapshot execution, string workspace, AgentLineage? lineage, CancellationToken ct = default)
    {
        var repository = RepositoryOf(execution.AgentId);
        var gate = _agents.GetOrAdd(execution.AgentId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            if (!Directory.Exists(repository)) await CreateAsync(execution.AgentId, repository, lineage, ct);
            var (head, origin) = await RefsAsync(repository, ct);
            if (head is not null)
            {
                var last = Trailers(await Git().RunAsync(repository, ["log", "-1", "--format=%B", head], null, ct));
                if (last.GetValueOrDefault("Execution") == execution.ExecutionId) return new RecordedCommit(head, null, null, AlreadyRecorded: true);
            }
            var parent = head ?? origin;
            WorkspaceSnapshot? snapshot = null;
            await Git().RunAsync(repository, ["fast-import", "--quiet", "--done"], async stdin =>
            {
                // The walk writes synchronously to git's stdin; it runs off the caller's thread so a slow disk never blocks it.
                await Task.Run(() =>
                {
                    // Not disposed: that would close git's stdin under the runner, which closes it itself.
                    var buffered = new BufferedStream(stdin, 1 << 16);
                    snapshot = WorkspaceSnapshot.Write(workspace, _options, buffered);
                    WriteCommit(buffered, execution, snapshot, parent, head is null && origin is not null ? lineage?.ParentId : null);
                    buffered.Flush();
                }, ct);
            }, ct);
            var (made, _) = await RefsAsync(repository, ct);
            return new RecordedCommit(made ?? throw new GitException("fast-import made no commit"), parent, snapshot!.Summary, AlreadyRecorded: false);
        }
        finally
        {
            gate.Release();
        }
    }

    private static void WriteCommit(Stream output, ExecutionSnapshot execution, WorkspaceSnapshot snapshot, string? parent, string? startedFromAgent)
    {
        var message = MessageOf(execution, snapshot.Summary, startedFromAgent);
        var body = Encoding.UTF8.GetBytes(message);
        var when = $"{execution.At.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)} +0000";
        var header = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"commit {Branch}\n")
            .Append(CultureInfo.InvariantCulture, $"author {Author} {when}\ncommitter {Author} {when}\n")
            .Append(CultureInfo.InvariantCulture, $"data {body.Length}\n");
        output.Write(Encoding.UTF8.GetBytes(header.ToString()));
        output.Write(body);
        var files = new StringBuilder("\n");
        if (parent is not null) files.Append(CultureInfo.InvariantCulture, $"from {parent}\n");
        // The whole tree each time: what the walk did not see is gone from this commit.
        files.Append("deleteall\n");
        foreach (var (mode, mark, path) in snapshot.Tree)
            files.Append(CultureInfo.InvariantCulture, $"M {mode} :{mark} {WorkspaceSnapshot.Quote(path)}\n");
        files.Append("\ndone\n");
        output.Write(Encoding.UTF8.GetBytes(files.ToString()));
    }

    /// <summary>The commit message: a subject, what was left out, and trailers the history is read back from.</summary>
    public static string MessageOf(ExecutionSnapshot e, SnapshotSummary s, string? startedFromAgent)
    {
        var exit = e.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none";
        var note = NoteOf(s);
        var sb = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{e.Status}: execution {e.ExecutionId} of {e.AgentId}, cycle {e.Cycle}, exit {exit}\n\n");
        if (note is not null) sb.Append(note).Append("\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"Agent: {e.AgentId}\n")
            .Append(CultureInfo.InvariantCulture, $"Execution: {e.ExecutionId}\n")
            .Append(CultureInfo.InvariantCulture, $"Cycle: {e.Cycle}\n")
            .Append(CultureInfo.InvariantCulture, $"Status: {e.Status}\n")
            .Append(CultureInfo.InvariantCulture, $"Exit-Code: {exit}\n")
            .Append(CultureInfo.InvariantCulture, $"Files: {s.Files + s.Links}\n")
            .Append(CultureInfo.InvariantCulture, $"Bytes: {s.Bytes}\n")
            .Append(CultureInfo.InvariantCulture, $"Truncated: {(s.Truncated ? "yes" : "no")}\n");
        if (note is not null) sb.Append(CultureInfo.InvariantCulture, $"Note: {note}\n");
        if (startedFromAgent is not null) sb.Append(CultureInfo.InvariantCulture, $"Started-From: {startedFromAgent}\n");
        return sb.ToString();
    }

    private static string? NoteOf(SnapshotSummary s)
    {
        var parts = new List<string>();
        if (s.Truncated)
            parts.Add($"truncated: {s.Omitted} entries left out by the snapshot bounds" + (s.OmittedBytes > 0 ? $" ({s.OmittedBytes} bytes of files)" : ""));
        if (s.SpecialSkipped > 0) parts.Add($"{s.SpecialSkipped} special files skipped (FIFO, socket, device)");
        if (s.GitSkipped > 0) parts.Add($"{s.GitSkipped} .git entries skipped");
        if (s.Unreadable > 0) parts.Add($"{s.Unreadable} entries unreadable");
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary>A new agent's repository, made under a hidden name and renamed into place (no half repository is left).</summary>
    private async Task CreateAsync(string agentId, string repository, AgentLineage? lineage, CancellationToken ct)
    {
        EnsurePrivateFolder(Root!);
        var staging = Path.Combine(Root!, $".{agentId}.{Guid.NewGuid():N}.new");
        try
        {
            // No template: no sample hooks, no info/exclude, nothing but what git needs.
            await Git().RunAsync(null, ["init", "--quiet", "--bare", "--template=", "--initial-branch=main", staging], null, ct);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(staging, OwnerOnly);
            if (lineage is not null && await ParentCommitAsync(lineage, ct) is { } origin)
            {
                // The parent's objects are copied in, so each repository stands alone (no alternates chain to follow).
                await Git().RunAsync(staging, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", RepositoryOf(lineage.ParentId),
                    $"+{Branch}:{OriginRef}"], null, ct);
                await Git().RunAsync(staging, ["update-ref", OriginRef, origin], null, ct);
            }
            Directory.Move(staging, repository);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>The parent's newest own commit from a cycle up to the child's creation cycle: the spawning execution's, when recorded.</summary>
    private async Task<string?> ParentCommitAsync(AgentLineage lineage, CancellationToken ct)
    {
        var repository = RepositoryOf(lineage.ParentId);
        if (!Directory.Exists(repository)) return null;
        var (head, origin) = await RefsAsync(repository, ct);
        if (head is null) return null;
        foreach (var (commit, _, _, body, _) in await LogAsync(repository, head, origin, 0, int.MaxValue, raw: false, ct))
        {
            var trailers = Trailers(body);
            if (trailers.GetValueOrDefault("Agent") == lineage.ParentId &&
                long.TryParse(trailers.GetValueOrDefault("Cycle"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var cycle) &&
                cycle <= lineage.CreatedCycle)
                return commit;
        }
        return null;
    }

    /// <summary>
    /// One page of an agent's own commits, newest first, each with its diff summary against the commit before it; null when
    /// the agent has no history (never ran since history was on, or history is off).
    /// </summary>
    public async Task<WorkspaceHistoryPage?> ReadAsync(string agentId, int skip, int take, CancellationToken ct = default)
    {
        if (Root is null) return null;
        var repository = RepositoryOf(agentId);
        if (!Directory.Exists(repository)) return null;
        var (head, origin) = await RefsAsync(repository, ct);
        if (head is null) return null;
        var range = origin is null ? new[] { head } : [head, "^" + origin];
        var total = int.Parse((await Git().RunAsync(repository, ["rev-list", "--count", "--first-parent", .. range], null, ct)).Trim(),
            CultureInfo.InvariantCulture);
        var commits = await LogAsync(repository, head, origin, skip, take, raw: true, ct);
        var sizes = await SizesAsync(repository, commits.SelectMany(c => c.Changes).SelectMany(c => new[] { c.Old, c.New }), ct);
        long Size(string blob) => sizes.GetValueOrDefault(blob);

        var items = commits.Select(c =>
        {
            var t = Trailers(c.Body);
            int added = 0, modified = 0, deleted = 0;
            long plus = 0, minus = 0;
            foreach (var change in c.Changes)
            {
                switch (change.Status)
                {
                    case 'A': added++; plus += Size(change.New); break;
                    case 'D': deleted++; minus += Size(change.Old); break;
                    default:
                        modified++;
                        var delta = Size(change.New) - Size(change.Old);
                        if (delta > 0) plus += delta; else minus -= delta;
                        break;
                }
            }
            return new WorkspaceCommitDto(c.Commit, c.Parent, t.GetValueOrDefault("Execution") ?? "", Long(t, "Cycle") ?? 0,
                t.GetValueOrDefault("Status") ?? "", (int?)Long(t, "Exit-Code"), c.At, (int)(Long(t, "Files") ?? 0), Long(t, "Bytes") ?? 0,
                t.GetValueOrDefault("Truncated") == "yes", t.GetValueOrDefault("Note"), new WorkspaceDiffDto(added, modified, deleted, plus, minus));
        }).ToList();

        WorkspaceOriginDto? startedFrom = null;
        if (origin is not null)
        {
            var parentAgent = Trailers(await Git().RunAsync(repository, ["log", "-1", "--format=%B", origin], null, ct)).GetValueOrDefault("Agent");
            startedFrom = new WorkspaceOriginDto(parentAgent ?? "", origin);
        }
        return new WorkspaceHistoryPage(agentId, skip, take, total, startedFrom, items);
    }

    private static long? Long(IReadOnlyDictionary<string, string> trailers, string key) =>
        long.TryParse(trailers.GetValueOrDefault(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    private sealed record Change(char Status, string Old, string New);
    private sealed record LoggedCommit(string Commit, string? Parent, DateTimeOffset At, string Body, IReadOnlyList<Change> Changes)
    {
        public void Deconstruct(out string commit, out string? parent, out DateTimeOffset at, out string body, out IReadOnlyList<Change> changes) =>
            (commit, parent, at, body, changes) = (Commit, Parent, At, Body, Changes);
    }

    private async Task<IReadOnlyList<LoggedCommit>> LogAsync(string repository, string head, string? origin, int skip, int take, bool raw, CancellationToken ct)
    {
        List<string> args = ["log", "--first-parent", "--format=%x1e%H%x1f%P%x1f%ct%x1f%B%x1f", $"--skip={skip}"];
        if (take < int.MaxValue) args.Add($"--max-count={take}");
        if (raw) args.AddRange(["--raw", "-r", "--no-renames", "--no-abbrev", "--root"]);
        args.Add(head);
        if (origin is not null) args.Add("^" + origin);
        var text = await Git().RunAsync(repository, args, null, ct);
        var commits = new List<LoggedCommit>();
        foreach (var record in text.Split('\x1e', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = record.Split('\x1f');
            if (fields.Length < 5) continue;
            var parents = fields[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var changes = new List<Change>();
            foreach (var line in fields[4].Split('\n'))
            {
                // ":100644 100644 <old> <new> M\tpath": the path is not needed, only the blobs and the status.
                if (!line.StartsWith(':')) continue;
                var meta = line.Split('\t')[0].Split(' ');
                if (meta.Length >= 5) changes.Add(new Change(meta[4][0], meta[2], meta[3]));
            }
            commits.Add(new LoggedCommit(fields[0].Trim(), parents.FirstOrDefault(),
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(fields[2], CultureInfo.InvariantCulture)), fields[3], changes));
        }
        return commits;
    }

    private async Task<Dictionary<string, long>> SizesAsync(string repository, IEnumerable<string> blobs, CancellationToken ct)
    {
        var wanted = blobs.Where(b => b.Trim('0').Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        if (wanted.Count == 0) return sizes;
        var text = await Git().RunAsync(repository, ["cat-file", "--batch-check=%(objectname) %(objectsize)"], async stdin =>
        {
            await stdin.WriteAsync(Encoding.ASCII.GetBytes(string.Join('\n', wanted) + "\n"), ct);
        }, ct);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var size)) sizes[parts[0]] = size;
        }
        return sizes;
    }

    private async Task<(string? Head, string? Origin)> RefsAsync(string repository, CancellationToken ct)
    {
        var text = await Git().RunAsync(repository, ["for-each-ref", "--format=%(refname) %(objectname)", Branch, OriginRef], null, ct);
        string? head = null, origin = null;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length != 2) continue;
            if (parts[0] == Branch) head = parts[1];
            else if (parts[0] == OriginRef) origin = parts[1];
        }
        return (head, origin);
    }

    /// <summary>The "Key: value" lines of a message (ours: the host wrote every one).</summary>
    public static IReadOnlyDictionary<string, string> Trailers(string body)
    {
        var trailers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in body.Split('\n'))
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0 && line[..colon].All(c => char.IsAsciiLetter(c) || c == '-')) trailers[line[..colon]] = line[(colon + 2)..].Trim();
        }
        return trailers;
    }

    private GitProcess Git()
    {
        if (_git is not null) return _git;
        var home = Root is null ? Path.GetTempPath() : Path.Combine(Root, ".home");
        if (Root is not null)
        {
            EnsurePrivateFolder(Root);
            EnsurePrivateFolder(home);
        }
        return _git = new GitProcess(_options.Git, home, _options.GitTimeout);
    }

    private static void EnsurePrivateFolder(string path)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, OwnerOnly);
    }
}
