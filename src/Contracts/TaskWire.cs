namespace CyAgents.Contracts;

/// <summary>How a task's submissions are judged.</summary>
/// <param name="Kind"><c>command</c> (run in a network-less, capped sandbox over a read-only copy; exit 0 passes) or <c>human</c> (operator review).</param>
/// <param name="Runtime">For a command: the runtime it runs in (<c>python</c>, <c>dotnet</c>); default <c>python</c>.</param>
/// <param name="Command">For a command: the argv, run with the submission as working directory (<c>/workspace</c>, read-only).</param>
public sealed record TaskVerifierDto(string? Kind, string? Runtime = null, IReadOnlyList<string>? Command = null);

/// <summary>A task to post; its reward is escrowed from the poster (an agent's available credits, or the treasury for the operator) at once.</summary>
/// <param name="Title">One line, required.</param>
/// <param name="Description">What to hand in and where.</param>
/// <param name="Reward">Credits paid to the first verified submission.</param>
/// <param name="DeadlineCycles">Cycles it stays open after the current one; then an unawarded reward returns to the poster.</param>
/// <param name="Verifier">How work is judged.</param>
public sealed record PostTaskRequest(string? Title, string? Description, long Reward, int DeadlineCycles, TaskVerifierDto? Verifier);

/// <summary>A task.</summary>
/// <param name="Id">Task id.</param>
/// <param name="Title">One line.</param>
/// <param name="Description">What to hand in.</param>
/// <param name="Reward">Credits paid to the winner.</param>
/// <param name="PosterAgentId">The posting agent; null for the operator.</param>
/// <param name="PostedCycle">The cycle it was posted in.</param>
/// <param name="DeadlineCycle">The last cycle that takes submissions.</param>
/// <param name="Verifier">How work is judged.</param>
/// <param name="State">Open, Awarded or Expired.</param>
/// <param name="WinnerAgentId">Who was paid, once awarded.</param>
/// <param name="WinnerSubmissionId">The submission that won, once awarded.</param>
/// <param name="EscrowTransferId">The pending ledger transfer holding the reward.</param>
public sealed record TaskResponse(string Id, string Title, string Description, long Reward, string? PosterAgentId, long PostedCycle,
    long DeadlineCycle, TaskVerifierDto Verifier, string State, string? WinnerAgentId, string? WinnerSubmissionId, string EscrowTransferId);

/// <summary>Tasks, oldest first.</summary>
public sealed record TaskList(IReadOnlyList<TaskResponse> Items);

/// <summary>Work to hand in: a file or folder inside the caller's workspace, copied at once.</summary>
/// <param name="Path">Relative to the workspace (a leading <c>/workspace/</c> is accepted); no <c>..</c>, no links anywhere on the way.</param>
public sealed record SubmitWorkRequest(string? Path);

/// <summary>One submission and its verdict.</summary>
/// <param name="Id">Submission id.</param>
/// <param name="TaskId">The task.</param>
/// <param name="AgentId">The submitter.</param>
/// <param name="Cycle">The cycle it was submitted in.</param>
/// <param name="Path">What was copied, relative to the workspace.</param>
/// <param name="Files">Regular files copied.</param>
/// <param name="Bytes">Bytes copied.</param>
/// <param name="State">Pending, Awarded, Passed (verified after another won), Failed or Expired.</param>
/// <param name="ExitCode">The verifier's exit code, once it ran.</param>
/// <param name="Verdict">The verifier's last output, the reviewer's note, or why it did not run.</param>
public sealed record SubmissionResponse(string Id, string TaskId, string AgentId, long Cycle, string Path, int Files, long Bytes, string State,
    int? ExitCode, string? Verdict);

/// <summary>Submissions, oldest first.</summary>
public sealed record SubmissionList(IReadOnlyList<SubmissionResponse> Items);

/// <summary>The operator's verdict on a submission to a human-reviewed task.</summary>
/// <param name="Approve">True pays the reward (if the task is still open); false rejects.</param>
/// <param name="Note">Why, for the submitter.</param>
public sealed record ReviewSubmissionRequest(bool Approve, string? Note = null);
