using System.Net;
using CyAgents.Contracts;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

public class EconomyEndpointTests
{
    private static readonly ResourceBundleDto Cpu = new(100, 64, 0, 0);

    [Fact]
    public async Task An_agent_sees_its_posted_reserved_and_available_credits()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 500);
        var client = api.TypedClient(token);
        await client.PlaceBidAsync(new PlaceBidRequest(Cpu, 120));

        (await client.GetBalanceAsync()).ShouldBe(new BalanceResponse("alice", 500, 120, 380));
    }

    [Fact]
    public async Task Transactions_come_newest_first_in_pages()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 500);
        var client = api.TypedClient(token);
        var bid = await client.PlaceBidAsync(new PlaceBidRequest(Cpu, 120));

        var page = await client.GetTransactionsAsync(0, 10);
        page.Items.Select(t => t.Id).ShouldBe([bid.EscrowTransferId, "seed:alice"]);
        page.Items[0].Kind.ShouldBe("BidEscrow");
        page.Items[0].State.ShouldBe("Pending");
        page.Items[1].Amount.ShouldBe(500);
        (await client.GetTransactionsAsync(1, 1)).Items.Single().Id.ShouldBe("seed:alice");
    }

    [Theory]
    [InlineData("?skip=-1")]
    [InlineData("?take=0")]
    [InlineData("?take=100000")]
    public async Task Bad_paging_is_a_validation_problem(string query)
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 500);
        await (await api.ClientWith(token).GetAsync(ApiRoutes.Transactions + query))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
    }

    [Fact]
    public async Task An_agent_cannot_read_another_agents_balance_or_transactions()
    {
        await using var api = new ApiFactory();
        await api.AgentTokenAsync("alice", 500);
        var mallory = await api.AgentTokenAsync("mallory", 5);
        using var http = api.ClientWith(mallory);

        await (await http.GetAsync(ApiRoutes.Balance + "?agentId=alice")).ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await (await http.GetAsync(ApiRoutes.Transactions + "?agentId=alice")).ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (await api.TypedClient(mallory).GetBalanceAsync()).AgentId.ShouldBe("mallory");
    }

    [Fact]
    public async Task The_operator_reads_any_agents_balance_by_naming_it()
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("alice", 500);
        using var http = api.ClientWith(ApiFactory.OperatorSecret);

        var response = await http.GetAsync(ApiRoutes.Balance + "?agentId=alice");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await http.GetAsync(ApiRoutes.Balance)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        await (await http.GetAsync(ApiRoutes.Balance + "?agentId=ghost")).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
    }
}
