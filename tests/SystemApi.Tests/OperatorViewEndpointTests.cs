using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

/// <summary>The operator's read views behind the dashboard: agents with balances, all bids, the ledger, one agent's page.</summary>
public sealed class OperatorViewEndpointTests : IDisposable
{
    private readonly ApiFactory _api = new();

    public void Dispose() => _api.Dispose();

    private static readonly ResourceBundleDto Small = new(100, 64, 0, 0);

    /// <summary>ada (root, 100) with a child bob (50) and a grandchild cy (20); dora, a retired root; ada bids 30.</summary>
    private async Task<string> SeedAsync()
    {
        var ada = await _api.AgentTokenAsync("ada", 100);
        await _api.SeedAgentAsync("bob", 50, parentId: "ada", generation: 1);
        await _api.SeedAgentAsync("cy", 20, parentId: "bob", generation: 2);
        await _api.SeedAgentAsync("dora", 5);
        await using (var db = await _api.DbAsync())
        {
            (await db.Set<AgentRecord>().FindAsync("dora"))!.Status = AgentStatus.Retired;
            await db.SaveChangesAsync();
        }
        (await _api.ClientWith(ada).PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(Small, 30))).StatusCode.ShouldBe(HttpStatusCode.Created);
        return ada;
    }

    private HttpClient Operator => _api.ClientWith(ApiFactory.OperatorSecret);

    [Fact]
    public async Task Agents_list_shows_each_agents_posted_reserved_and_available_balance()
    {
        await SeedAsync();
        var page = (await Operator.GetFromJsonAsync<AgentPage>(ApiRoutes.Agents))!;
        page.Total.ShouldBe(4);
        page.Items.Select(a => a.Id).ShouldBe(["ada", "bob", "cy", "dora"]);
        var ada = page.Items[0];
        (ada.Posted, ada.Reserved, ada.Available).ShouldBe((100L, 30L, 70L));
        page.Items[2].ShouldBe(new AgentSummary("cy", "cy", "bob", "ada", 2, 0, "Active", 20, 0, 20));
        // The stream position before the page: the bid's event is already in it, so the dashboard resumes after it.
        page.EventSeq.ShouldBeGreaterThan(0);
    }

    [Theory]
    [InlineData("?parentId=ada", "bob")]
    [InlineData("?rootId=ada", "ada,bob,cy")]
    [InlineData("?generation=2", "cy")]
    [InlineData("?status=retired", "dora")]
    [InlineData("?status=Active&generation=0", "ada")]
    [InlineData("?namePrefix=d", "dora")]
    [InlineData("?skip=1&take=2", "bob,cy")]
    [InlineData("?parentId=nobody", "")]
    public async Task Agents_list_filters_and_pages(string query, string expected)
    {
        await SeedAsync();
        var page = (await Operator.GetFromJsonAsync<AgentPage>(ApiRoutes.Agents + query))!;
        string.Join(",", page.Items.Select(a => a.Id)).ShouldBe(expected);
    }

    [Theory]
    [InlineData("/v1/agents?status=Sleeping", "status")]
    [InlineData("/v1/agents?status=0", "status")]
    [InlineData("/v1/agents?generation=-1", "generation")]
    [InlineData("/v1/agents?take=0", "take")]
    [InlineData("/v1/agents?take=201", "take")]
    [InlineData("/v1/agents?skip=-1", "skip")]
    [InlineData("/v1/operator/bids?status=Pending", "status")]
    [InlineData("/v1/operator/bids?cycle=-2", "cycle")]
    [InlineData("/v1/operator/transfers?kind=Theft", "kind")]
    [InlineData("/v1/operator/transfers?take=1000", "take")]
    public async Task Bad_query_parameters_are_refused_with_a_validation_problem_naming_the_field(string url, string field)
    {
        await SeedAsync();
        var problem = await (await Operator.GetAsync(url)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        problem.FieldErrors(field).ShouldNotBeEmpty();
    }

    [Fact]
    public async Task A_query_parameter_of_the_wrong_type_is_a_validation_problem()
    {
        await SeedAsync();
        await (await Operator.GetAsync("/v1/agents?generation=two")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    [Theory]
    [InlineData("/v1/agents")]
    [InlineData("/v1/operator/bids")]
    [InlineData("/v1/operator/transfers")]
    [InlineData("/v1/operator/agents/ada")]
    public async Task Agents_may_not_read_the_operator_views(string url)
    {
        var ada = await SeedAsync();
        await (await _api.ClientWith(ada).GetAsync(url)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await (await _api.ClientWith(null).GetAsync(url)).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Operator_lists_every_agents_bids_filtered_by_agent_status_and_cycle()
    {
        var ada = await SeedAsync();
        var bob = await _api.IssueAsync("bob", "exe-bob");
        (await _api.ClientWith(bob).PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(Small, 12))).StatusCode.ShouldBe(HttpStatusCode.Created);
        var all = (await Operator.GetFromJsonAsync<OperatorBidPage>(ApiRoutes.OperatorBids))!;
        all.Total.ShouldBe(2);
        all.Items.Select(b => b.AgentId).Order().ShouldBe(["ada", "bob"]);
        var bobs = (await Operator.GetFromJsonAsync<OperatorBidPage>(ApiRoutes.OperatorBids + "?agentId=bob&status=open"))!;
        bobs.Items.Single().Amount.ShouldBe(12);
        var cycle = all.Items[0].Cycle;
        (await Operator.GetFromJsonAsync<OperatorBidPage>($"{ApiRoutes.OperatorBids}?cycle={cycle}"))!.Total.ShouldBe(2);
        (await Operator.GetFromJsonAsync<OperatorBidPage>($"{ApiRoutes.OperatorBids}?cycle={cycle + 5}"))!.Total.ShouldBe(0);
        (await Operator.GetFromJsonAsync<OperatorBidPage>(ApiRoutes.OperatorBids + "?status=Won"))!.Items.ShouldBeEmpty();
    }

    [Fact]
    public async Task Operator_reads_the_ledger_filtered_by_account_and_kind()
    {
        await SeedAsync();
        var all = (await Operator.GetFromJsonAsync<OperatorTransferPage>(ApiRoutes.OperatorTransfers))!;
        all.Total.ShouldBe(5); // four endowments and one escrow
        all.Items.Select(t => t.Sequence).ShouldBeInOrder(SortDirection.Descending);
        var adas = (await Operator.GetFromJsonAsync<OperatorTransferPage>(ApiRoutes.OperatorTransfers + "?account=agent:ada"))!;
        adas.Items.Select(t => t.Kind).ShouldBe(["BidEscrow", "Endowment"]);
        var escrow = (await Operator.GetFromJsonAsync<OperatorTransferPage>(ApiRoutes.OperatorTransfers + "?kind=bidescrow"))!.Items.Single();
        (escrow.DebitAccountId, escrow.CreditAccountId, escrow.Amount, escrow.State).ShouldBe(("agent:ada", "escrow", 30L, "Pending"));
        (await Operator.GetFromJsonAsync<OperatorTransferPage>(ApiRoutes.OperatorTransfers + "?account=treasury&take=2"))!
            .ShouldSatisfyAllConditions(p => p.Total.ShouldBe(4), p => p.Items.Count.ShouldBe(2));
    }

    [Fact]
    public async Task Agent_page_has_balances_children_bids_transfers_and_executions_with_their_output()
    {
        await SeedAsync();
        await using (var db = await _api.DbAsync())
        {
            db.Add(new ExecutionRecord
            {
                Id = "exe-ada-1", AgentId = "ada", Cycle = 1, Status = ExecutionStatus.Succeeded, ExitCode = 0,
                Granted = ResourceBundle.Create(100, 64, 0, 0), StartedAt = DateTimeOffset.UtcNow, EndedAt = DateTimeOffset.UtcNow,
            });
            var at = DateTimeOffset.UtcNow;
            db.AddEvent(EventTypes.ExecutionOutput, "ada", 1, at, new { executionId = "exe-ada-1", stream = "stdout", line = "hello" });
            db.AddEvent(EventTypes.ExecutionOutput, "ada", 1, at, new { executionId = "exe-other", stream = "stdout", line = "not mine" });
            db.AddEvent(EventTypes.ExecutionOutput, "ada", 1, at, new { executionId = "exe-ada-1", stream = "stderr", line = "done" });
            db.Add(new LlmCallRecord
            {
                Id = "0000000000000001", ExecutionId = "exe-ada-1", AgentId = "ada", Cycle = 1, Model = "local", Route = "chat",
                PromptTokens = 10, CompletionTokens = 5, ReservedTokens = 20, ChargedTokens = 15, Outcome = LlmCallOutcome.Succeeded, StartedAt = at,
            });
            await db.SaveChangesAsync();
        }
        var detail = (await Operator.GetFromJsonAsync<AgentDetail>(ApiRoutes.OperatorAgent("ada")))!;
        detail.Agent.Available.ShouldBe(70);
        detail.Children.ShouldBe(["bob"]);
        detail.Bids.Single().Amount.ShouldBe(30);
        detail.Transfers.Select(t => t.Kind).ShouldBe(["BidEscrow", "Endowment"]);
        var execution = detail.Executions.Single();
        execution.Execution.Id.ShouldBe("exe-ada-1");
        execution.Output.Select(o => (o.Stream, o.Line)).ShouldBe([("stdout", "hello"), ("stderr", "done")]);
        detail.History.ShouldBeNull(); // it has not run with history recorded
        (detail.Llm.Calls, detail.Llm.PromptTokens, detail.Llm.CompletionTokens, detail.Llm.ChargedTokens).ShouldBe((1, 10L, 5L, 15L));
        detail.Llm.Recent.Single().ExecutionId.ShouldBe("exe-ada-1");

        await (await Operator.GetAsync(ApiRoutes.OperatorAgent("nobody"))).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
    }
}
