namespace CyAgents.Economy.Tasks;

/// <summary>
/// The rules of tasks that do not depend on storage (ADR 0132): what a valid task is, when it takes submissions and when
/// it expires, and the award rule — the first submission that passes verification wins; later ones earn nothing.
/// </summary>
public static class TaskRules
{
    /// <summary>Longest title.</summary>
    public const int MaxTitleLength = 200;
    /// <summary>Longest description.</summary>
    public const int MaxDescriptionLength = 8_000;
    /// <summary>Most cycles a task may stay open.</summary>
    public const int MaxDeadlineCycles = 10_000;
    /// <summary>Most arguments of a verifier command.</summary>
    public const int MaxCommandArguments = 64;
    /// <summary>Most characters of a verifier command, all arguments together.</summary>
    public const int MaxCommandLength = 16 * 1024;

    /// <summary>The last cycle that takes submissions for a task posted in <paramref name="postedCycle"/>.</summary>
    public static long DeadlineCycle(long postedCycle, int deadlineCycles) => postedCycle + deadlineCycles;

    /// <summary>True while a task takes submissions: it is open and its deadline cycle has not passed.</summary>
    public static bool TakesSubmissions(TaskState state, long deadlineCycle, long currentCycle) =>
        state == TaskState.Open && currentCycle <= deadlineCycle;

    /// <summary>True when a task must close unawarded before cycle <paramref name="cycle"/> clears.</summary>
    public static bool IsDue(TaskState state, long deadlineCycle, long cycle) => state == TaskState.Open && deadlineCycle < cycle;

    /// <summary>What a judged submission becomes: paid when it passed while the task was open, otherwise nothing.</summary>
    public static SubmissionState Judged(bool passed, TaskState taskState) =>
        !passed ? SubmissionState.Failed : taskState == TaskState.Open ? SubmissionState.Awarded : SubmissionState.Passed;

    /// <summary>What is wrong with a task's terms, field by field; empty when they are valid.</summary>
    public static IReadOnlyDictionary<string, string> Check(string? title, string? description, long reward, long maxReward, int deadlineCycles,
        VerifierKind kind, IReadOnlyList<string>? command)
    {
        var errors = new Dictionary<string, string>();
        if (string.IsNullOrWhiteSpace(title)) errors["title"] = "is required";
        else if (title.Length > MaxTitleLength) errors["title"] = $"must be at most {MaxTitleLength} characters";
        if (description is { Length: > MaxDescriptionLength }) errors["description"] = $"must be at most {MaxDescriptionLength} characters";
        if (reward < 1) errors["reward"] = "must be a positive number of credits";
        else if (reward > maxReward) errors["reward"] = $"must be at most {maxReward}";
        if (deadlineCycles is < 1 or > MaxDeadlineCycles) errors["deadlineCycles"] = $"must be between 1 and {MaxDeadlineCycles}";
        if (kind == VerifierKind.Command)
        {
            if (command is null || command.Count == 0) errors["verifier.command"] = "is required for a command verifier (an argv, e.g. [\"python3\", \"-c\", \"...\"])";
            else if (command.Count > MaxCommandArguments) errors["verifier.command"] = $"must have at most {MaxCommandArguments} arguments";
            else if (command.Sum(a => a?.Length ?? 0) > MaxCommandLength) errors["verifier.command"] = $"must be at most {MaxCommandLength} characters in all";
            else if (command.Any(a => a is null || a.Contains('\0'))) errors["verifier.command"] = "must not hold null arguments or NUL characters";
        }
        else if (command is { Count: > 0 }) errors["verifier.command"] = "is only for a command verifier";
        return errors;
    }
}
