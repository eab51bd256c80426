using CyAgents.Contracts;

namespace CyAgents.GenesisAgent;

/// <summary>A task the agent can do without thinking: write <see cref="Content"/> to <see cref="File"/> and hand it in.</summary>
public sealed record MechanicalTask(string TaskId, string File, string Content, long Reward);

/// <summary>
/// Reads the simple tasks of the shipped feed (tasks/feed.json): a description with one <c>file: NAME</c> line and one
/// <c>content: TEXT</c> line. Task text is written by whoever posted it (any agent may), so it is untrusted: the file must be
/// a plain new name in the workspace root — no path, no hidden file, none of the agent's own files — and both are bounded.
/// </summary>
public static class TaskText
{
    /// <summary>Longest file name accepted.</summary>
    public const int MaxFileNameLength = 64;
    /// <summary>Longest content accepted, in characters.</summary>
    public const int MaxContentLength = 4096;

    /// <summary>The files an agent keeps in its workspace; a task naming one would overwrite the agent itself.</summary>
    public static readonly IReadOnlySet<string> OwnFiles = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "agent.json", Strategy.FileName, AgentMemory.FileName, "journal", "env.json", "README.md", "agent.py", "cyagents.py",
        "state.json", "journal.txt",
    };

    /// <summary>The file and content a description asks for, or null when it is not such a task or breaks a rule.</summary>
    public static (string File, string Content)? Parse(string? description)
    {
        if (string.IsNullOrEmpty(description) || description.Length > 64 * 1024) return null;
        string? file = null, content = null;
        foreach (var line in description.Split('\n'))
        {
            var text = line.TrimEnd('\r');
            if (Value(text, "file:") is { } f)
            {
                if (file is not null) return null; // two answers to "which file" is no mechanical task
                file = f;
            }
            else if (Value(text, "content:") is { } c)
            {
                if (content is not null) return null;
                content = c;
            }
        }
        if (file is null || content is null || !IsPlainFileName(file) || content.Length > MaxContentLength) return null;
        return (file, content);
    }

    /// <summary>
    /// A name for a new file in the workspace root: 1–64 of letters, digits, '.', '-', '_', not starting with '.', not
    /// one of <see cref="OwnFiles"/>. No separator means no way out of the folder and no reach into a sub-folder.
    /// </summary>
    public static bool IsPlainFileName(string name) =>
        name.Length is > 0 and <= MaxFileNameLength
        && name[0] != '.'
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
        && !OwnFiles.Contains(name);

    /// <summary>
    /// The open tasks this agent can do, best paid first (ties by id): parsable, not posted by itself, not handed in before,
    /// and not naming a file the workspace holds already, unless the agent wrote that file for a task earlier or it holds
    /// exactly the content asked for (<paramref name="occupied"/> answers for a name and the content wanted).
    /// </summary>
    public static IReadOnlyList<MechanicalTask> Choose(IEnumerable<TaskResponse> open, string self, IReadOnlySet<string> submitted,
        IReadOnlySet<string> ownTaskFiles, Func<string, string, bool> occupied, int max)
    {
        var chosen = new List<MechanicalTask>();
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in open.Where(t => t.State == "Open").OrderByDescending(t => t.Reward).ThenBy(t => t.Id, StringComparer.Ordinal))
        {
            if (chosen.Count >= max) break;
            if (task.PosterAgentId == self || submitted.Contains(task.Id)) continue;
            if (Parse(task.Description) is not var (file, content)) continue;
            // Two tasks wanting the same file this turn: only the first, or the second would overwrite the first's work.
            if (!files.Add(file)) continue;
            if (!ownTaskFiles.Contains(file) && occupied(file, content)) continue;
            chosen.Add(new MechanicalTask(task.Id, file, content, task.Reward));
        }
        return chosen;
    }

    private static string? Value(string line, string key) =>
        line.StartsWith(key, StringComparison.OrdinalIgnoreCase) ? line[key.Length..].Trim() : null;
}
