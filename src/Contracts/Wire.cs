using System.Text.Json;

namespace CyAgents.Contracts;

/// <summary>A quantity of each resource: CPU millicores, memory MiB, LLM tokens, attention basis points.</summary>
/// <param name="CpuMillicores">CPU in millicores (1000 = one core).</param>
/// <param name="MemoryMiB">Memory in MiB.</param>
/// <param name="Tokens">LLM tokens.</param>
/// <param name="AttentionBasisPoints">Human attention in basis points (1/10,000) of one cycle.</param>
public sealed record ResourceBundleDto(long CpuMillicores, long MemoryMiB, long Tokens, long AttentionBasisPoints);

/// <summary>Price, supply and utilization of one resource kind.</summary>
/// <param name="Kind">cpu, memory, tokens or attention.</param>
/// <param name="Unit">The unit quantities are counted in.</param>
/// <param name="Price">Credits per unit in force for the next cycle.</param>
/// <param name="Supply">Units on offer in the next cycle.</param>
/// <param name="Utilization">Allocated over supply in the last settled cycle (0 before any).</param>
public sealed record ResourceMarketDto(string Kind, string Unit, double Price, long Supply, double Utilization);

/// <summary>The market as an agent sees it before bidding.</summary>
/// <param name="LastSettledCycle">The last cycle whose market state is recorded; null before the first.</param>
/// <param name="NextCycle">The cycle a bid placed now is for.</param>
/// <param name="Resources">One entry per resource kind, in the stable order cpu, memory, tokens, attention.</param>
public sealed record MarketPricesResponse(long? LastSettledCycle, long NextCycle, IReadOnlyList<ResourceMarketDto> Resources);

/// <summary>Market state of one resource kind after one cycle.</summary>
/// <param name="Cycle">The cycle.</param>
/// <param name="Kind">Resource kind.</param>
/// <param name="Price">Price per unit during the cycle.</param>
/// <param name="NextPrice">Price per unit set for the following cycle.</param>
/// <param name="Supply">Units on offer.</param>
/// <param name="Demand">Units asked for by all bids.</param>
/// <param name="Allocated">Units granted.</param>
/// <param name="Utilization">Allocated over supply.</param>
public sealed record MarketHistoryEntryDto(long Cycle, string Kind, double Price, double NextPrice, long Supply, long Demand, long Allocated, double Utilization);

/// <summary>Price history, oldest cycle first.</summary>
/// <param name="Cycles">How many cycles were asked for.</param>
/// <param name="Entries">Rows, ordered by cycle then kind.</param>
public sealed record MarketHistoryResponse(int Cycles, IReadOnlyList<MarketHistoryEntryDto> Entries);

/// <summary>An agent's credits.</summary>
/// <param name="AgentId">The agent.</param>
/// <param name="Posted">Credits owned (posted in minus posted out).</param>
/// <param name="Reserved">Credits held in escrow by open bids.</param>
/// <param name="Available">What can still be spent: posted minus reserved.</param>
public sealed record BalanceResponse(string AgentId, long Posted, long Reserved, long Available);

/// <summary>One ledger transfer touching the agent's account.</summary>
/// <param name="Id">Transfer id.</param>
/// <param name="Sequence">Position in the ledger's total order.</param>
/// <param name="Kind">Why credits moved (e.g. BidEscrow, SpawnFee).</param>
/// <param name="State">Posted, Pending, PendingPosted or PendingVoided.</param>
/// <param name="DebitAccountId">Account the credits left.</param>
/// <param name="CreditAccountId">Account the credits entered.</param>
/// <param name="Amount">Credits moved or reserved.</param>
/// <param name="Cycle">Cycle, when there is one.</param>
/// <param name="Memo">Audit text.</param>
/// <param name="PendingId">For a resolution, the pending transfer it resolves.</param>
/// <param name="PostedAmount">For a resolved pending transfer, how much was posted.</param>
public sealed record TransactionDto(string Id, long Sequence, string Kind, string State, string DebitAccountId, string CreditAccountId,
    long Amount, long? Cycle, string? Memo, string? PendingId, long? PostedAmount);

/// <summary>A page of transactions, newest first.</summary>
/// <param name="Skip">Rows skipped.</param>
/// <param name="Take">Page size asked for.</param>
/// <param name="Items">The rows.</param>
public sealed record TransactionPage(int Skip, int Take, IReadOnlyList<TransactionDto> Items);

/// <summary>A bid for the next cycle: the whole bundle or nothing, for at most <paramref name="Amount"/> credits.</summary>
/// <param name="Bundle">What the agent wants.</param>
/// <param name="Amount">Credits offered; escrowed at once.</param>
public sealed record PlaceBidRequest(ResourceBundleDto? Bundle, long Amount);

/// <summary>A bid and where it is in its life.</summary>
/// <param name="Id">Bid id.</param>
/// <param name="AgentId">The bidding agent.</param>
/// <param name="Cycle">The cycle it is for.</param>
/// <param name="Bundle">What it asks for.</param>
/// <param name="Amount">Credits offered (escrowed).</param>
/// <param name="Status">Open, Frozen, Won, Lost or Cancelled.</param>
/// <param name="Payment">What a winner paid; null until settled.</param>
/// <param name="EscrowTransferId">The pending ledger transfer holding the amount.</param>
/// <param name="CreatedAt">When it was placed.</param>
public sealed record BidResponse(string Id, string AgentId, long Cycle, ResourceBundleDto Bundle, long Amount, string Status,
    long? Payment, string EscrowTransferId, DateTimeOffset CreatedAt);

/// <summary>Bids, newest first.</summary>
/// <param name="Items">The bids.</param>
public sealed record BidList(IReadOnlyList<BidResponse> Items);

/// <summary>Spawn a child agent paid for by the calling agent.</summary>
/// <param name="Name">Display name (1–128 characters).</param>
/// <param name="Endowment">Credits moved from the parent to the child.</param>
/// <param name="Strategy">Optional strategy settings (a JSON object), copied into the child's workspace.</param>
/// <param name="ParentId">Optional; when given it must be the caller (an agent spawns only with its own credits).</param>
/// <param name="Template">
/// Optional: a template name from the host's templates folder (e.g. <c>genesis</c>); the child gets that folder and its
/// manifest. Without it the child gets a copy of the parent's workspace and the parent's manifest.
/// </param>
public sealed record SpawnRequest(string? Name, long Endowment, JsonElement? Strategy = null, string? ParentId = null, string? Template = null);

/// <summary>Operator: create a root agent from a template folder on the host, endowed from the treasury.</summary>
/// <param name="Name">Display name (1–128 characters, single line); unique among agents.</param>
/// <param name="Endowment">Credits minted by the treasury for it (at least 1).</param>
/// <param name="Template">An absolute folder on the host holding <c>agent.json</c> and the agent's code; copied into its workspace.</param>
public sealed record CreateAgentRequest(string? Name, long Endowment, string? Template);

/// <summary>The created agent.</summary>
/// <param name="Agent">Its identity (a root: generation 0).</param>
/// <param name="Endowment">Credits it got from the treasury.</param>
/// <param name="Workspace">Its workspace folder on the host.</param>
public sealed record CreateAgentResponse(AgentResponse Agent, long Endowment, string Workspace);

/// <summary>An agent's identity and lineage.</summary>
/// <param name="Id">Agent id.</param>
/// <param name="Name">Display name.</param>
/// <param name="ParentId">Parent; null for a root agent.</param>
/// <param name="RootId">Root of the lineage.</param>
/// <param name="Generation">0 for a root, parent's + 1 otherwise.</param>
/// <param name="CreatedCycle">Cycle it was created in.</param>
/// <param name="Status">Active or Retired.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record AgentResponse(string Id, string Name, string? ParentId, string RootId, int Generation, long CreatedCycle,
    string Status, DateTimeOffset CreatedAt);

/// <summary>The result of a spawn.</summary>
/// <param name="Agent">The child.</param>
/// <param name="Endowment">Credits moved to the child.</param>
/// <param name="Fee">Spawn fee paid to the treasury.</param>
/// <param name="Workspace">The child's workspace folder name (under the workspaces root).</param>
public sealed record SpawnResponse(AgentResponse Agent, long Endowment, long Fee, string Workspace);

/// <summary>One node of a lineage tree.</summary>
/// <param name="Agent">The agent.</param>
/// <param name="Children">Its children, oldest first.</param>
public sealed record LineageNode(AgentResponse Agent, IReadOnlyList<LineageNode> Children);

/// <summary>A question for the human.</summary>
/// <param name="Question">The text (size-limited).</param>
public sealed record AskPromptRequest(string? Question);

/// <summary>The human's answer, with a reward in credits paid from the treasury.</summary>
/// <param name="Answer">The text of the answer.</param>
/// <param name="Reward">Credits awarded (0 allowed).</param>
public sealed record AnswerPromptRequest(string? Answer, long Reward);

/// <summary>A prompt and, once answered, its answer and reward.</summary>
/// <param name="Id">Prompt id.</param>
/// <param name="AgentId">Asking agent.</param>
/// <param name="ExecutionId">Execution during which it was asked.</param>
/// <param name="Cycle">Cycle.</param>
/// <param name="Question">The question.</param>
/// <param name="Answer">The answer, when answered.</param>
/// <param name="Reward">Credits awarded.</param>
/// <param name="Status">Pending, Answered or Expired.</param>
/// <param name="CreatedAt">When asked.</param>
/// <param name="AnsweredAt">When answered.</param>
/// <param name="Attention">Attention it cost (basis points of one cycle's human), of the execution's won share.</param>
public sealed record PromptResponse(string Id, string AgentId, string? ExecutionId, long Cycle, string Question, string? Answer,
    long Reward, string Status, DateTimeOffset CreatedAt, DateTimeOffset? AnsweredAt, long Attention = 0);

/// <summary>Prompts: an agent's own oldest first; the operator's pending inbox by attention paid, then age.</summary>
/// <param name="Items">The prompts.</param>
public sealed record PromptList(IReadOnlyList<PromptResponse> Items);

/// <summary>One allocation cycle.</summary>
/// <param name="Number">Cycle number.</param>
/// <param name="Status">Open, Clearing, Settled, Running, Completed or Interrupted.</param>
/// <param name="Mechanism">Clearing mechanism.</param>
/// <param name="BidCount">Bids cleared.</param>
/// <param name="WinnerCount">Winners.</param>
/// <param name="Welfare">Sum of winners' bids.</param>
/// <param name="Revenue">Sum of payments.</param>
/// <param name="InvariantHeld">Whether the ledger invariant held at the end.</param>
/// <param name="StartedAt">Start.</param>
/// <param name="EndedAt">End.</param>
public sealed record CycleResponse(long Number, string Status, string Mechanism, int BidCount, int WinnerCount, long Welfare,
    long Revenue, bool? InvariantHeld, DateTimeOffset StartedAt, DateTimeOffset? EndedAt);

/// <summary>Cycles, newest first.</summary>
/// <param name="Items">The cycles.</param>
public sealed record CycleList(IReadOnlyList<CycleResponse> Items);

/// <summary>One run of an agent in its sandbox.</summary>
/// <param name="Id">Execution id.</param>
/// <param name="AgentId">Agent.</param>
/// <param name="Cycle">Cycle.</param>
/// <param name="BidId">Winning bid.</param>
/// <param name="Status">Pending, Running, Succeeded, Failed, OOMKilled, TimedOut, LaunchFailed, Abandoned, HostFault, QuotaExceeded, Superseded, Leased (a service's container kept for its next win) or Preempted (a lease ended by a loss, ADR 0137).</param>
/// <param name="ExitCode">Exit code.</param>
/// <param name="Granted">Granted bundle.</param>
/// <param name="TokensUsed">LLM tokens used.</param>
/// <param name="StartedAt">Start.</param>
/// <param name="EndedAt">End.</param>
public sealed record ExecutionResponse(string Id, string AgentId, long Cycle, string? BidId, string Status, int? ExitCode,
    ResourceBundleDto Granted, long TokensUsed, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt);

/// <summary>Executions, newest first.</summary>
/// <param name="Items">The executions.</param>
public sealed record ExecutionList(IReadOnlyList<ExecutionResponse> Items);

/// <summary>A completion asked of the LLM proxy; metered against the execution's won token bundle.</summary>
/// <param name="Prompt">The prompt text.</param>
/// <param name="MaxTokens">Most completion tokens wanted (1–100,000); reserved from the budget until the answer is in.</param>
public sealed record LlmCompletionRequest(string? Prompt, int MaxTokens);

/// <summary>The proxy's answer and the execution's token meter after it.</summary>
/// <param name="Text">The completion.</param>
/// <param name="Provider">Which provider answered (e.g. <c>echo</c>).</param>
/// <param name="PromptTokens">Tokens counted for the prompt.</param>
/// <param name="CompletionTokens">Tokens counted for the completion.</param>
/// <param name="TokensUsed">Tokens used by the execution so far.</param>
/// <param name="TokensGranted">Tokens the execution won.</param>
public sealed record LlmCompletionResponse(string Text, string Provider, long PromptTokens, long CompletionTokens, long TokensUsed,
    long TokensGranted);

/// <summary>Liveness and database reachability.</summary>
/// <param name="Status">ok or degraded.</param>
/// <param name="Database">ok or unreachable.</param>
/// <param name="ApiVersion">Contract version.</param>
public sealed record HealthResponse(string Status, string Database, string ApiVersion);

/// <summary>
/// RFC 7807 problem details as the API sends them: <see cref="Code"/> is stable and meant for programs,
/// <see cref="Errors"/> lists validation failures field by field.
/// </summary>
/// <param name="Type">URI naming the problem type.</param>
/// <param name="Title">Short summary.</param>
/// <param name="Status">HTTP status.</param>
/// <param name="Detail">Explanation for this occurrence.</param>
/// <param name="Code">Stable error code (see <see cref="ErrorCodes"/>).</param>
/// <param name="Errors">Field name to messages, for validation failures.</param>
public sealed record ApiProblem(string? Type, string? Title, int? Status, string? Detail, string? Code,
    IReadOnlyDictionary<string, string[]>? Errors);

/// <summary>One call through the LLM gateway, as the operator sees it.</summary>
/// <param name="Id">Call id (also the <c>x-cyagents-call-id</c> header the caller got).</param>
/// <param name="ExecutionId">The execution whose tokens paid.</param>
/// <param name="AgentId">The calling agent.</param>
/// <param name="Cycle">The execution's cycle.</param>
/// <param name="Model">The model asked for.</param>
/// <param name="Provider">The provider that answered, or the last one tried.</param>
/// <param name="Route"><c>chat</c> or <c>embeddings</c>.</param>
/// <param name="Stream">Whether it streamed.</param>
/// <param name="PromptTokens">Prompt tokens the provider reported.</param>
/// <param name="CompletionTokens">Completion tokens the provider reported.</param>
/// <param name="ReservedTokens">Bundle tokens held while it ran (its upper bound).</param>
/// <param name="ChargedTokens">Bundle tokens charged.</param>
/// <param name="Attempts">Provider attempts (retries and failovers included).</param>
/// <param name="LatencyMs">Arrival to last byte, in milliseconds.</param>
/// <param name="Outcome">Succeeded, ProviderFailed, Rejected or StreamBroken.</param>
/// <param name="Error">Why it failed, or how it was charged when usage was missing.</param>
/// <param name="StartedAt">Arrival.</param>
public sealed record LlmCallResponse(string Id, string ExecutionId, string AgentId, long Cycle, string Model, string? Provider, string Route,
    bool Stream, long PromptTokens, long CompletionTokens, long ReservedTokens, long ChargedTokens, int Attempts, long LatencyMs,
    string Outcome, string? Error, DateTimeOffset StartedAt);

/// <summary>LLM gateway calls, newest first.</summary>
/// <param name="Items">The calls.</param>
public sealed record LlmCallList(IReadOnlyList<LlmCallResponse> Items);
