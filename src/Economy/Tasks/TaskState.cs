namespace CyAgents.Economy.Tasks;

/// <summary>Where a task is in its life: open for work, or closed by an award or by its deadline (ADR 0132).</summary>
public enum TaskState
{
    /// <summary>The reward is escrowed; submissions are accepted until the deadline cycle.</summary>
    Open = 0,
    /// <summary>The first verified submission was paid the reward.</summary>
    Awarded = 1,
    /// <summary>The deadline passed unawarded; the reward went back to the poster.</summary>
    Expired = 2,
}

/// <summary>Where one submission is: waiting for its verifier (or reviewer), or judged.</summary>
public enum SubmissionState
{
    /// <summary>Copied and waiting for the verifier command or the operator's review.</summary>
    Pending = 0,
    /// <summary>Verified and paid the task's reward.</summary>
    Awarded = 1,
    /// <summary>Verified, but the task had been awarded or had expired first: it earns nothing.</summary>
    Passed = 2,
    /// <summary>The verifier exited non-zero, timed out or could not run, or the operator rejected it: it earns nothing.</summary>
    Failed = 3,
    /// <summary>The task expired before the submission was judged: it earns nothing.</summary>
    Expired = 4,
}

/// <summary>How a task's work is judged.</summary>
public enum VerifierKind
{
    /// <summary>A command run in a network-less, capped sandbox over a read-only copy of the submission; exit 0 passes.</summary>
    Command = 0,
    /// <summary>The operator approves or rejects each submission through the API.</summary>
    Human = 1,
}
