using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace CyAgents.Contracts;

/// <summary>
/// Typed client of the System API for agents (and tests). Serialization goes through
/// <see cref="ContractsJsonContext"/> only, so it survives trimming. Every non-success answer becomes a
/// <see cref="SystemApiException"/> carrying the server's problem details.
/// </summary>
public sealed class SystemApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private static readonly ContractsJsonContext Json = ContractsJsonContext.Default;

    /// <summary>Wraps an existing <see cref="HttpClient"/> whose BaseAddress points at the API.</summary>
    /// <param name="http">The client; its lifetime stays with the caller.</param>
    /// <param name="bearerToken">Agent or operator token; null for anonymous calls.</param>
    public SystemApiClient(HttpClient http, string? bearerToken = null) : this(http, bearerToken, ownsHttp: false)
    {
    }

    private SystemApiClient(HttpClient http, string? bearerToken, bool ownsHttp)
    {
        _http = http;
        _ownsHttp = ownsHttp;
        if (bearerToken is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
    }

    /// <summary>A client speaking HTTP over the API's unix socket (the only way out of a sandbox).</summary>
    public static SystemApiClient ForUnixSocket(string socketPath, string? bearerToken)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        // The host part is ignored on a unix socket; "localhost" keeps the Host header well-formed.
        return new SystemApiClient(new HttpClient(handler) { BaseAddress = new Uri("http://localhost") }, bearerToken, ownsHttp: true);
    }

    /// <summary>A client speaking HTTP to a base address such as <c>http://127.0.0.1:5080</c>.</summary>
    public static SystemApiClient ForBaseAddress(Uri baseAddress, string? bearerToken) =>
        new(new HttpClient { BaseAddress = baseAddress }, bearerToken, ownsHttp: true);

    /// <summary>Liveness.</summary>
    public Task<HealthResponse> GetHealthAsync(CancellationToken ct = default) => GetAsync(ApiRoutes.Health, Json.HealthResponse, ct);

    /// <summary>Prices, supply and utilization for the next cycle.</summary>
    public Task<MarketPricesResponse> GetPricesAsync(CancellationToken ct = default) =>
        GetAsync(ApiRoutes.MarketPrices, Json.MarketPricesResponse, ct);

    /// <summary>Price history over the last <paramref name="cycles"/> cycles.</summary>
    public Task<MarketHistoryResponse> GetPriceHistoryAsync(int cycles, CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.MarketHistory}?cycles={cycles}", Json.MarketHistoryResponse, ct);

    /// <summary>Own balance.</summary>
    public Task<BalanceResponse> GetBalanceAsync(CancellationToken ct = default) => GetAsync(ApiRoutes.Balance, Json.BalanceResponse, ct);

    /// <summary>Own transactions, newest first.</summary>
    public Task<TransactionPage> GetTransactionsAsync(int skip = 0, int take = 50, CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.Transactions}?skip={skip}&take={take}", Json.TransactionPage, ct);

    /// <summary>Places a bid for the next cycle; the amount is escrowed at once.</summary>
    public Task<BidResponse> PlaceBidAsync(PlaceBidRequest request, string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.Bids, request, Json.PlaceBidRequest, Json.BidResponse, idempotencyKey, ct);

    /// <summary>Own bids, newest first.</summary>
    public Task<BidList> GetBidsAsync(CancellationToken ct = default) => GetAsync(ApiRoutes.Bids, Json.BidList, ct);

    /// <summary>Cancels an open bid; its escrow is voided.</summary>
    public Task<BidResponse> CancelBidAsync(string bidId, string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync<object?, BidResponse>(ApiRoutes.CancelBid(bidId), null, null, Json.BidResponse, idempotencyKey, ct);

    /// <summary>Spawns a child agent paid from the caller's credits.</summary>
    public Task<SpawnResponse> SpawnAsync(SpawnRequest request, string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.Spawn, request, Json.SpawnRequest, Json.SpawnResponse, idempotencyKey, ct);

    /// <summary>The calling agent.</summary>
    public Task<AgentResponse> GetSelfAsync(CancellationToken ct = default) => GetAsync(ApiRoutes.Self, Json.AgentResponse, ct);

    /// <summary>The lineage tree of an agent (from its root).</summary>
    public Task<LineageNode> GetLineageAsync(string agentId, CancellationToken ct = default) =>
        GetAsync(ApiRoutes.Lineage(agentId), Json.LineageNode, ct);

    /// <summary>An agent's workspace history, newest execution first: its own (an agent) or any agent's (the operator).</summary>
    public Task<WorkspaceHistoryPage> GetHistoryAsync(string agentId, int skip = 0, int take = 20, CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.History(agentId)}?skip={skip}&take={take}", Json.WorkspaceHistoryPage, ct);

    /// <summary>Asks the human a question.</summary>
    public Task<PromptResponse> AskAsync(AskPromptRequest request, string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.Prompts, request, Json.AskPromptRequest, Json.PromptResponse, idempotencyKey, ct);

    /// <summary>One own prompt; poll it for the answer.</summary>
    public Task<PromptResponse> GetPromptAsync(string promptId, CancellationToken ct = default) =>
        GetAsync(ApiRoutes.Prompt(promptId), Json.PromptResponse, ct);

    /// <summary>Operator: creates a root agent from a template folder on the host, endowed from the treasury.</summary>
    public Task<CreateAgentResponse> CreateAgentAsync(CreateAgentRequest request, string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.OperatorAgents, request, Json.CreateAgentRequest, Json.CreateAgentResponse, idempotencyKey, ct);

    /// <summary>Operator: prompts waiting for an answer.</summary>
    public Task<PromptList> GetPendingPromptsAsync(CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.OperatorPrompts}?status=pending", Json.PromptList, ct);

    /// <summary>Operator: answers a prompt and pays its reward.</summary>
    public Task<PromptResponse> AnswerPromptAsync(string promptId, AnswerPromptRequest request, string? idempotencyKey = null,
        CancellationToken ct = default) =>
        PostAsync(ApiRoutes.AnswerPrompt(promptId), request, Json.AnswerPromptRequest, Json.PromptResponse, idempotencyKey, ct);

    /// <summary>Posts a task; its reward is escrowed from the caller (the treasury for the operator) at once.</summary>
    public Task<TaskResponse> PostTaskAsync(PostTaskRequest request, string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.Tasks, request, Json.PostTaskRequest, Json.TaskResponse, idempotencyKey, ct);

    /// <summary>Tasks in a state (<c>open</c>, <c>awarded</c>, <c>expired</c> or <c>all</c>), oldest first.</summary>
    public Task<TaskList> GetTasksAsync(string status = "open", CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.Tasks}?status={Uri.EscapeDataString(status)}", Json.TaskList, ct);

    /// <summary>One task.</summary>
    public Task<TaskResponse> GetTaskAsync(string taskId, CancellationToken ct = default) => GetAsync(ApiRoutes.Task(taskId), Json.TaskResponse, ct);

    /// <summary>Hands in a file or folder of the caller's workspace for a task; it is copied at once and verified later.</summary>
    public Task<SubmissionResponse> SubmitWorkAsync(string taskId, SubmitWorkRequest request, string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.TaskSubmissions(taskId), request, Json.SubmitWorkRequest, Json.SubmissionResponse, idempotencyKey, ct);

    /// <summary>Submissions to a task the caller may see (its own; all for the operator and the poster).</summary>
    public Task<SubmissionList> GetSubmissionsAsync(string taskId, CancellationToken ct = default) =>
        GetAsync(ApiRoutes.TaskSubmissions(taskId), Json.SubmissionList, ct);

    /// <summary>Operator: approves (pays, once) or rejects a submission to a human-reviewed task.</summary>
    public Task<SubmissionResponse> ReviewSubmissionAsync(string taskId, string submissionId, ReviewSubmissionRequest request,
        string? idempotencyKey = null, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.ReviewSubmission(taskId, submissionId), request, Json.ReviewSubmissionRequest, Json.SubmissionResponse, idempotencyKey, ct);

    /// <summary>Asks the LLM proxy for a completion, metered against the execution's won tokens.</summary>
    public Task<LlmCompletionResponse> CompleteAsync(LlmCompletionRequest request, CancellationToken ct = default) =>
        PostAsync(ApiRoutes.LlmComplete, request, Json.LlmCompletionRequest, Json.LlmCompletionResponse, null, ct);

    /// <summary>
    /// A chat completion through the gateway's OpenAI-compatible route, metered against the execution's won tokens.
    /// Refusals (budget, rate limit, provider failure) raise <see cref="SystemApiException"/> with the stable code.
    /// </summary>
    public async Task<ChatCompletionResponse> ChatAsync(ChatCompletionRequest request, CancellationToken ct = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, ApiRoutes.ChatCompletions)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, Json.ChatCompletionRequest))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            },
        };
        using var response = await _http.SendAsync(message, ct).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            OpenAiError? error = null;
            try
            {
                error = JsonSerializer.Deserialize(bytes, Json.OpenAiErrorBody)?.Error;
            }
            catch (JsonException)
            {
                // not the gateway's shape: reported by status alone
            }
            throw new SystemApiException(response.StatusCode, new ApiProblem(null, error?.Type, (int)response.StatusCode,
                error?.Message ?? $"status {(int)response.StatusCode}", error?.Code ?? ErrorCodes.Internal, null));
        }
        return JsonSerializer.Deserialize(bytes, Json.ChatCompletionResponse)
               ?? throw new SystemApiException(response.StatusCode,
                   new ApiProblem(null, "Empty response", (int)response.StatusCode, "the gateway answered with an empty body", ErrorCodes.Internal, null));
    }

    /// <summary>Operator: the LLM gateway's calls, newest first (optionally of one execution).</summary>
    public Task<LlmCallList> GetLlmCallsAsync(string? executionId = null, int take = 50, CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.OperatorLlmCalls}?take={take}" + (executionId is null ? "" : $"&executionId={Uri.EscapeDataString(executionId)}"),
            Json.LlmCallList, ct);

    /// <summary>Cycles, newest first.</summary>
    public Task<CycleList> GetCyclesAsync(int skip = 0, int take = 50, CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.Cycles}?skip={skip}&take={take}", Json.CycleList, ct);

    /// <summary>Executions, newest first.</summary>
    public Task<ExecutionList> GetExecutionsAsync(int skip = 0, int take = 50, CancellationToken ct = default) =>
        GetAsync($"{ApiRoutes.Executions}?skip={skip}&take={take}", Json.ExecutionList, ct);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct).ConfigureAwait(false);
        return await ReadAsync(response, type, ct).ConfigureAwait(false);
    }

    private async Task<TResponse> PostAsync<TRequest, TResponse>(string path, TRequest body, JsonTypeInfo<TRequest>? requestType,
        JsonTypeInfo<TResponse> responseType, string? idempotencyKey, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (requestType is not null)
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, requestType))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            };
        if (idempotencyKey is not null)
            request.Headers.Add(ApiRoutes.IdempotencyKeyHeader, idempotencyKey);
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        return await ReadAsync(response, responseType, ct).ConfigureAwait(false);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken ct)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new SystemApiException(response.StatusCode, ParseProblem(response.StatusCode, bytes));
        return JsonSerializer.Deserialize(bytes, type)
               ?? throw new SystemApiException(response.StatusCode,
                   new ApiProblem(null, "Empty response", (int)response.StatusCode, "the API answered with an empty body", ErrorCodes.Internal, null));
    }

    private static ApiProblem ParseProblem(HttpStatusCode status, byte[] bytes)
    {
        try
        {
            if (bytes.Length > 0 && JsonSerializer.Deserialize(bytes, Json.ApiProblem) is { } problem)
                return problem;
        }
        catch (JsonException)
        {
            // Not problem details (e.g. a proxy's HTML page): fall through and keep the raw text.
        }
        return new ApiProblem(null, status.ToString(), (int)status, Encoding.UTF8.GetString(bytes), null, null);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}

/// <summary>A non-success answer of the System API, with the problem details it sent.</summary>
public sealed class SystemApiException(HttpStatusCode statusCode, ApiProblem problem)
    : Exception($"System API answered {(int)statusCode} {problem.Code ?? problem.Title}: {problem.Detail}{FormatErrors(problem)}")
{
    /// <summary>HTTP status.</summary>
    public HttpStatusCode StatusCode { get; } = statusCode;

    /// <summary>The problem details (code, detail, field errors).</summary>
    public ApiProblem Problem { get; } = problem;

    /// <summary>The stable error code, when the server sent one.</summary>
    public string? Code => Problem.Code;

    private static string FormatErrors(ApiProblem p) =>
        p.Errors is { Count: > 0 } e ? " (" + string.Join("; ", e.Select(kv => $"{kv.Key}: {string.Join(", ", kv.Value)}")) + ")" : "";
}
