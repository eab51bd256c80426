using System.Text.Json;
using System.Text.Json.Serialization;

namespace CyAgents.Contracts;

/// <summary>
/// Source-generated JSON metadata for every wire type (camelCase, web defaults). The trimmed agent binary
/// needs it because reflection-based serialization is cut away; the server uses it too, so both sides agree.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ResourceBundleDto))]
[JsonSerializable(typeof(MarketPricesResponse))]
[JsonSerializable(typeof(MarketHistoryResponse))]
[JsonSerializable(typeof(BalanceResponse))]
[JsonSerializable(typeof(TransactionPage))]
[JsonSerializable(typeof(PlaceBidRequest))]
[JsonSerializable(typeof(BidResponse))]
[JsonSerializable(typeof(BidList))]
[JsonSerializable(typeof(SpawnRequest))]
[JsonSerializable(typeof(SpawnResponse))]
[JsonSerializable(typeof(CreateAgentRequest))]
[JsonSerializable(typeof(CreateAgentResponse))]
[JsonSerializable(typeof(AgentResponse))]
[JsonSerializable(typeof(LineageNode))]
[JsonSerializable(typeof(AskPromptRequest))]
[JsonSerializable(typeof(AnswerPromptRequest))]
[JsonSerializable(typeof(PromptResponse))]
[JsonSerializable(typeof(PromptList))]
[JsonSerializable(typeof(CycleList))]
[JsonSerializable(typeof(ExecutionList))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(LlmCompletionRequest))]
[JsonSerializable(typeof(LlmCompletionResponse))]
[JsonSerializable(typeof(LlmCallList))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(OpenAiErrorBody))]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(WorkspaceHistoryPage))]
[JsonSerializable(typeof(AgentPage))]
[JsonSerializable(typeof(OperatorBidPage))]
[JsonSerializable(typeof(OperatorTransferPage))]
[JsonSerializable(typeof(AgentDetail))]
[JsonSerializable(typeof(OperatorSessionResponse))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class ContractsJsonContext : JsonSerializerContext;
