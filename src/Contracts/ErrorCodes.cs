namespace CyAgents.Contracts;

/// <summary>The stable <c>code</c> values of the API's problem details. Programs branch on these, never on titles.</summary>
public static class ErrorCodes
{
    /// <summary>400: a field is missing or out of range; see <c>errors</c>.</summary>
    public const string Validation = "validation";
    /// <summary>401: no, unknown, or revoked bearer token.</summary>
    public const string Unauthenticated = "unauthenticated";
    /// <summary>403: the token may not do this (another agent's account, an operator endpoint).</summary>
    public const string Forbidden = "forbidden";
    /// <summary>404: no such resource (or not visible to the caller).</summary>
    public const string NotFound = "not_found";
    /// <summary>402: the available balance does not cover the amount.</summary>
    public const string InsufficientFunds = "insufficient_funds";
    /// <summary>409: the resource is not in a state that allows this (bid not open, prompt already answered, key reused).</summary>
    public const string Conflict = "conflict";
    /// <summary>413: the request body is larger than 64 KiB.</summary>
    public const string BodyTooLarge = "body_too_large";
    /// <summary>422: the bundle asks for more of a resource than the cycle supplies.</summary>
    public const string BundleExceedsSupply = "bundle_exceeds_supply";
    /// <summary>422: spawning would exceed the depth or children-per-cycle limit.</summary>
    public const string SpawnLimit = "spawn_limit";
    /// <summary>422: the LLM request would use more tokens than the execution won.</summary>
    public const string TokenBudgetExceeded = "token_budget_exceeded";
    /// <summary>502: the LLM provider failed; the reserved tokens were released.</summary>
    public const string LlmProviderFailed = "llm_provider_failed";
    /// <summary>429: too many requests from this agent; retry after the Retry-After header.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>405: the route exists but not for this HTTP method.</summary>
    public const string MethodNotAllowed = "method_not_allowed";
    /// <summary>415: the body is not <c>application/json</c>.</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";
    /// <summary>414: the request target (path and query) is too long.</summary>
    public const string UriTooLong = "uri_too_long";
    /// <summary>431: the request headers are too large or too many.</summary>
    public const string HeadersTooLarge = "headers_too_large";
    /// <summary>400: the HTTP request itself is malformed (not a field of its body).</summary>
    public const string BadRequest = "bad_request";
    /// <summary>500: an unexpected failure; nothing was changed.</summary>
    public const string Internal = "internal";
    /// <summary>422: the prompt would cost more attention than the execution won and has left (ADR 0135).</summary>
    public const string AttentionExhausted = "attention_exhausted";
    /// <summary>403: the calling agent is retired (bankrupt and idle, ADR 0136): it may not bid, spawn or ask the human.</summary>
    public const string AgentRetired = "agent_retired";
    /// <summary>409: the task takes no more work: awarded, expired, or past its deadline cycle.</summary>
    public const string TaskClosed = "task_closed";
    /// <summary>422: the submitted path cannot be copied: outside the workspace, a link on the way, a special file, or over the copy limits.</summary>
    public const string SubmissionRefused = "submission_refused";
    /// <summary>422: the agent has a submission to this task still waiting for its verdict, or has used up its submissions to it.</summary>
    public const string SubmissionLimit = "submission_limit";
}
