using System.Net;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

public class MarketAndCycleEndpointTests
{
    [Fact]
    public async Task Before_any_cycle_prices_and_supply_come_from_configuration()
    {
        await using var api = new ApiFactory(new Dictionary<string, string?>
            { ["Market:Supply:Cpu"] = "3000", ["Market:Pricing:InitialTokens"] = "0.002" });

        var prices = await api.TypedClient(null).GetPricesAsync();

        prices.LastSettledCycle.ShouldBeNull();
        prices.NextCycle.ShouldBe(1);
        prices.Resources.Select(r => r.Kind).ShouldBe(["cpu", "memory", "tokens", "attention"]);
        prices.Resources[0].Supply.ShouldBe(3000);
        prices.Resources[0].Unit.ShouldBe("millicores");
        prices.Resources[2].Price.ShouldBe(0.002);
        prices.Resources.ShouldAllBe(r => r.Utilization == 0);
    }

    [Fact]
    public async Task After_cycles_prices_come_from_the_last_market_state_and_history_lists_n_cycles()
    {
        await using var api = new ApiFactory();
        await using (var db = await api.DbAsync())
        {
            for (var cycle = 1; cycle <= 3; cycle++)
            {
                db.Add(new CycleRecord { Number = cycle, Status = CycleStatus.Completed, Mechanism = "critical-value", StartedAt = DateTimeOffset.UtcNow });
                foreach (var kind in ResourceKinds.All)
                    db.Add(new MarketStateRecord
                    {
                        Cycle = cycle, Kind = kind, Supply = 1000, Demand = 500 * cycle, Allocated = 250 * cycle,
                        Utilization = 0.25 * cycle, Price = cycle, NextPrice = cycle + 0.5,
                    });
            }
            await db.SaveChangesAsync();
        }
        var client = api.TypedClient(null);

        var prices = await client.GetPricesAsync();
        prices.LastSettledCycle.ShouldBe(3);
        prices.NextCycle.ShouldBe(4);
        prices.Resources.ShouldAllBe(r => r.Price == 3.5 && r.Supply == 1000 && r.Utilization == 0.75);

        var history = await client.GetPriceHistoryAsync(2);
        history.Entries.Count.ShouldBe(8);
        history.Entries.Select(e => e.Cycle).Distinct().ShouldBe([2L, 3L]);
        history.Entries[0].Kind.ShouldBe("cpu");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5000)]
    public async Task A_history_length_out_of_range_is_a_validation_problem(int cycles)
    {
        await using var api = new ApiFactory();
        (await (await api.ClientWith(null).GetAsync($"{ApiRoutes.MarketHistory}?cycles={cycles}"))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("cycles").ShouldNotBeEmpty();
    }

    [Fact]
    public async Task Health_answers_without_a_token()
    {
        await using var api = new ApiFactory();
        (await api.TypedClient(null).GetHealthAsync()).ShouldBe(new HealthResponse("ok", "ok", ContractsInfo.ApiVersion));
    }

    [Fact]
    public async Task Cycles_and_executions_are_listed_newest_first_and_filtered()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 0);
        await using (var db = await api.DbAsync())
        {
            db.Add(new CycleRecord { Number = 1, Status = CycleStatus.Completed, Mechanism = "first-price", StartedAt = DateTimeOffset.UtcNow });
            db.Add(new CycleRecord { Number = 2, Status = CycleStatus.Running, Mechanism = "first-price", StartedAt = DateTimeOffset.UtcNow });
            db.Add(new ExecutionRecord { Id = "exe-a", AgentId = "alice", Cycle = 1, Status = ExecutionStatus.Succeeded, ExitCode = 0, Granted = ResourceBundle.Create(cpuMillicores: 500) });
            db.Add(new ExecutionRecord { Id = "exe-b", AgentId = "bob", Cycle = 2, Status = ExecutionStatus.Running });
            await db.SaveChangesAsync();
        }
        var client = api.TypedClient(token);

        (await client.GetCyclesAsync()).Items.Select(c => (c.Number, c.Status)).ShouldBe([(2L, "Running"), (1L, "Completed")]);
        (await client.GetExecutionsAsync()).Items.Select(e => e.Id).ShouldBe(["exe-b", "exe-a"]);
        var alices = await api.ClientWith(token).GetAsync($"{ApiRoutes.Executions}?agentId=alice");
        var list = System.Text.Json.JsonSerializer.Deserialize(await alices.Content.ReadAsStringAsync(), ContractsJsonContext.Default.ExecutionList)!;
        list.Items.Single().Granted.CpuMillicores.ShouldBe(500);
        await (await api.ClientWith(token).GetAsync($"{ApiRoutes.Cycles}?take=0")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        await (await api.ClientWith(null).GetAsync(ApiRoutes.Cycles)).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Unknown_agents_are_not_found()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 0);
        await (await api.ClientWith(token).GetAsync(ApiRoutes.Agent("ghost"))).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await (await api.ClientWith(token).GetAsync(ApiRoutes.Lineage("ghost"))).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        (await api.TypedClient(token).GetSelfAsync()).Name.ShouldBe("alice");
    }
}
