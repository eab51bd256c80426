using System.Text.Json;
using System.Text.RegularExpressions;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tasks;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tasks;

/// <summary>One task of a feed file: a key (its task id is <c>feed-&lt;key&gt;</c>) and the terms of <c>POST /v1/tasks</c>.</summary>
public sealed record TaskFeedEntry(string Key, PostTaskRequest Terms);

/// <summary>The feed file is not valid; nothing was posted.</summary>
public sealed class TaskFeedException(string message) : Exception(message);

/// <summary>
/// A task feed (ADR 0132): a JSON file of operator tasks that <c>run --tasks FILE</c> posts at start, so a demo always has
/// work; <c>tasks/feed.json</c> is the shipped one. Each entry's id derives from its key, so starting again on the same
/// database posts nothing twice (a task that expired stays expired). Shape:
/// <c>{"tasks": [{"key": "hello", "title": "…", "description": "…", "reward": 300, "deadlineCycles": 20,
/// "verifier": {"kind": "command", "runtime": "python", "command": ["python3", "-c", "…"]}}]}</c>.
/// </summary>
public static partial class TaskFeed
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    private sealed record FeedFile(List<FeedTask>? Tasks);
    private sealed record FeedTask(string? Key, string? Title, string? Description, long Reward, int DeadlineCycles, TaskVerifierDto? Verifier);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,39}$")]
    private static partial Regex KeyPattern();

    /// <summary>The entries of <paramref name="path"/>, every one checked; throws <see cref="TaskFeedException"/> naming the first problem.</summary>
    public static IReadOnlyList<TaskFeedEntry> Read(string path, long maxReward)
    {
        FeedFile? file;
        try { file = JsonSerializer.Deserialize<FeedFile>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new TaskFeedException($"{path} is not a task feed: {e.Message}"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TaskFeedException($"cannot read {path}: {e.Message}"); }
        if (file?.Tasks is not { Count: > 0 } tasks) throw new TaskFeedException($"{path} holds no tasks (expected {{\"tasks\": [...]}})");
        var entries = new List<TaskFeedEntry>();
        foreach (var (task, i) in tasks.Select((t, i) => (t, i)))
        {
            if (task.Key is null || !KeyPattern().IsMatch(task.Key))
                throw new TaskFeedException($"{path}: task {i + 1}: key must be 1-40 of a-z, 0-9 and '-' (got '{task.Key}')");
            if (entries.Any(e => e.Key == task.Key)) throw new TaskFeedException($"{path}: task {i + 1}: key '{task.Key}' appears twice");
            var terms = new PostTaskRequest(task.Title, task.Description, task.Reward, task.DeadlineCycles, task.Verifier);
            if (TaskPosting.Check(terms, maxReward) is { } refusal) throw new TaskFeedException($"{path}: task '{task.Key}': {refusal.Message}");
            entries.Add(new TaskFeedEntry(task.Key, terms));
        }
        return entries;
    }

    /// <summary>The task id of a feed entry.</summary>
    public static string IdOf(string key) => "feed-" + key;

    /// <summary>
    /// Posts the entries not posted before, from the treasury, in one transaction; returns how many were new.
    /// </summary>
    public static async Task<int> PostAsync(IDbContextFactory<CyAgentsDbContext> databases, Func<CyAgentsDbContext, ILedger> ledgers,
        IReadOnlyList<TaskFeedEntry> entries, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await databases.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var ledger = ledgers(db);
        var ids = entries.Select(e => IdOf(e.Key)).ToList();
        var known = await db.Set<TaskRecord>().Where(t => ids.Contains(t.Id)).Select(t => t.Id).ToListAsync(ct);
        var posted = 0;
        foreach (var entry in entries.Where(e => !known.Contains(IdOf(e.Key))))
        {
            var (_, refusal) = await TaskPosting.PostAsync(db, ledger, entry.Terms, posterAgentId: null, IdOf(entry.Key), now, ct);
            if (refusal is not null) throw new TaskFeedException($"task '{entry.Key}': {refusal.Message}");
            posted++;
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return posted;
    }
}
