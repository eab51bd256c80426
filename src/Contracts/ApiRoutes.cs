namespace CyAgents.Contracts;

/// <summary>Paths of the System API, shared by the server and the typed client so neither can drift.</summary>
public static class ApiRoutes
{
    /// <summary>Header carrying a client-chosen idempotency key on POSTs.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    /// <summary>Liveness.</summary>
    public const string Health = "/health";
    /// <summary>OpenAPI document.</summary>
    public const string OpenApi = "/openapi/v1.json";
    /// <summary>Current prices, supply and utilization.</summary>
    public const string MarketPrices = "/v1/market/prices";
    /// <summary>Price history (<c>?cycles=N</c>).</summary>
    public const string MarketHistory = "/v1/market/history";
    /// <summary>Own balance.</summary>
    public const string Balance = "/v1/economy/balance";
    /// <summary>Own transactions (<c>?skip=&amp;take=</c>).</summary>
    public const string Transactions = "/v1/economy/transactions";
    /// <summary>Place (POST) or list (GET) own bids.</summary>
    public const string Bids = "/v1/bids";
    /// <summary>One bid.</summary>
    public static string Bid(string id) => $"/v1/bids/{Uri.EscapeDataString(id)}";
    /// <summary>Cancel an open bid.</summary>
    public static string CancelBid(string id) => $"/v1/bids/{Uri.EscapeDataString(id)}/cancel";
    /// <summary>Spawn a child agent.</summary>
    public const string Spawn = "/v1/spawn";
    /// <summary>The calling agent.</summary>
    public const string Self = "/v1/agents/self";
    /// <summary>One agent.</summary>
    public static string Agent(string id) => $"/v1/agents/{Uri.EscapeDataString(id)}";
    /// <summary>The lineage tree an agent belongs to.</summary>
    public static string Lineage(string id) => $"/v1/agents/{Uri.EscapeDataString(id)}/lineage";
    /// <summary>An agent's workspace history (one commit per execution), newest first.</summary>
    public static string History(string id) => $"/v1/agents/{Uri.EscapeDataString(id)}/history";
    /// <summary>Ask (POST) or list own (GET) prompts.</summary>
    public const string Prompts = "/v1/prompts";
    /// <summary>One own prompt (poll for its answer).</summary>
    public static string Prompt(string id) => $"/v1/prompts/{Uri.EscapeDataString(id)}";
    /// <summary>Operator: prompts (<c>?status=pending</c>).</summary>
    public const string OperatorPrompts = "/v1/operator/prompts";
    /// <summary>Operator: create an agent from a template folder (what <c>cyagents agents create</c> calls while <c>run</c> runs).</summary>
    public const string OperatorAgents = "/v1/operator/agents";
    /// <summary>Operator: answer a prompt.</summary>
    public static string AnswerPrompt(string id) => $"/v1/operator/prompts/{Uri.EscapeDataString(id)}/answer";
    /// <summary>LLM proxy: a completion metered against the execution's token bundle.</summary>
    public const string LlmComplete = "/v1/llm/complete";
    /// <summary>OpenAI-compatible gateway: the base URL SDKs take is the API's address + <c>/v1</c>.</summary>
    public const string OpenAiBase = "/v1";
    /// <summary>OpenAI-compatible chat completions (streaming with server-sent events).</summary>
    public const string ChatCompletions = "/v1/chat/completions";
    /// <summary>OpenAI-compatible model list.</summary>
    public const string Models = "/v1/models";
    /// <summary>OpenAI-compatible embeddings.</summary>
    public const string Embeddings = "/v1/embeddings";
    /// <summary>Operator: the LLM gateway's calls, newest first (<c>?executionId=&amp;agentId=&amp;take=</c>).</summary>
    public const string OperatorLlmCalls = "/v1/operator/llm/calls";
    /// <summary>Cycles, newest first.</summary>
    public const string Cycles = "/v1/cycles";
    /// <summary>Executions, newest first (<c>?cycle=&amp;agentId=</c>).</summary>
    public const string Executions = "/v1/executions";
    /// <summary>Operator: agents with balances, paged and filtered (<c>?status=&amp;generation=&amp;parentId=&amp;rootId=&amp;namePrefix=&amp;skip=&amp;take=</c>).</summary>
    public const string Agents = "/v1/agents";
    /// <summary>Operator: one agent's page (bids, executions with output, transfers, history, LLM usage).</summary>
    public static string OperatorAgent(string id) => $"/v1/operator/agents/{Uri.EscapeDataString(id)}";
    /// <summary>Operator: every agent's bids (<c>?agentId=&amp;cycle=&amp;status=&amp;skip=&amp;take=</c>).</summary>
    public const string OperatorBids = "/v1/operator/bids";
    /// <summary>Operator: the ledger's transfers (<c>?account=&amp;kind=&amp;cycle=&amp;skip=&amp;take=</c>).</summary>
    public const string OperatorTransfers = "/v1/operator/transfers";
    /// <summary>Operator: a dashboard session cookie for the event stream (POST with the operator token, DELETE to end it).</summary>
    public const string OperatorSession = "/v1/operator/session";
}
