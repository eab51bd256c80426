namespace CyAgents.Contracts;

/// <summary>One agent as the operator's list shows it: identity, lineage, status and its account's balances.</summary>
/// <param name="Id">Agent id.</param>
/// <param name="Name">Display name.</param>
/// <param name="ParentId">The parent, null for a root.</param>
/// <param name="RootId">The root of its lineage.</param>
/// <param name="Generation">0 for a root, parent's + 1 otherwise.</param>
/// <param name="CreatedCycle">The cycle it was created in.</param>
/// <param name="Status">Active or Retired.</param>
/// <param name="Posted">Credits posted to its account.</param>
/// <param name="Reserved">Credits held by its open bids.</param>
/// <param name="Available">Posted minus reserved.</param>
public sealed record AgentSummary(string Id, string Name, string? ParentId, string RootId, int Generation, long CreatedCycle, string Status,
    long Posted, long Reserved, long Available);

/// <summary>A page of agents, oldest first (by creation cycle, then id).</summary>
/// <param name="Skip">Rows skipped.</param>
/// <param name="Take">Page size asked for.</param>
/// <param name="Total">Agents matching the filters, over all pages.</param>
/// <param name="EventSeq">The event stream's last sequence number before the page was read: resume <c>/v1/events?after=</c> from it.</param>
/// <param name="Items">The rows.</param>
public sealed record AgentPage(int Skip, int Take, int Total, long EventSeq, IReadOnlyList<AgentSummary> Items);

/// <summary>A page of bids for the operator, newest first.</summary>
/// <param name="Skip">Rows skipped.</param>
/// <param name="Take">Page size asked for.</param>
/// <param name="Total">Bids matching the filters.</param>
/// <param name="Items">The rows.</param>
public sealed record OperatorBidPage(int Skip, int Take, int Total, IReadOnlyList<BidResponse> Items);

/// <summary>A page of ledger transfers for the operator, newest first.</summary>
/// <param name="Skip">Rows skipped.</param>
/// <param name="Take">Page size asked for.</param>
/// <param name="Total">Transfers matching the filters.</param>
/// <param name="Items">The rows.</param>
public sealed record OperatorTransferPage(int Skip, int Take, int Total, IReadOnlyList<TransactionDto> Items);

/// <summary>One execution with the last lines it printed.</summary>
/// <param name="Execution">The execution.</param>
/// <param name="Output">Its last output lines (oldest first), from the event stream's <c>execution.output</c> events.</param>
public sealed record ExecutionWithOutput(ExecutionResponse Execution, IReadOnlyList<OutputLine> Output);

/// <summary>A line an agent printed while it ran.</summary>
/// <param name="Seq">The event's sequence number.</param>
/// <param name="Stream">stdout or stderr.</param>
/// <param name="Line">The text.</param>
public sealed record OutputLine(long Seq, string Stream, string Line);

/// <summary>An agent's use of the LLM gateway, summed over all its calls.</summary>
/// <param name="Calls">Calls made.</param>
/// <param name="PromptTokens">Prompt tokens the providers reported.</param>
/// <param name="CompletionTokens">Completion tokens the providers reported.</param>
/// <param name="ChargedTokens">Bundle tokens charged.</param>
/// <param name="Recent">The newest calls.</param>
public sealed record LlmUsage(int Calls, long PromptTokens, long CompletionTokens, long ChargedTokens, IReadOnlyList<LlmCallResponse> Recent);

/// <summary>Everything the dashboard's agent page shows about one agent (newest first, each list capped).</summary>
/// <param name="Agent">The agent and its balances.</param>
/// <param name="Children">Its children's ids.</param>
/// <param name="Bids">Its newest bids.</param>
/// <param name="Executions">Its newest executions with their output tails.</param>
/// <param name="Transfers">The newest ledger transfers touching its account.</param>
/// <param name="History">Its workspace history's newest commits; null when it has none.</param>
/// <param name="Llm">Its LLM usage.</param>
public sealed record AgentDetail(AgentSummary Agent, IReadOnlyList<string> Children, IReadOnlyList<BidResponse> Bids,
    IReadOnlyList<ExecutionWithOutput> Executions, IReadOnlyList<TransactionDto> Transfers, WorkspaceHistoryPage? History, LlmUsage Llm);

/// <summary>A dashboard session: the browser holds it as an HttpOnly cookie (ADR 0128).</summary>
/// <param name="ExpiresAt">When the cookie stops being accepted.</param>
public sealed record OperatorSessionResponse(DateTimeOffset ExpiresAt);
