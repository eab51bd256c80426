using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

public class SpawnEndpointTests
{
    [Fact]
    public async Task Spawning_endows_the_child_from_the_parent_charges_the_fee_and_copies_the_workspace()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 1000);
        var client = api.TypedClient(token);
        var strategy = JsonDocument.Parse("""{"style":"frugal","maxBid":40}""").RootElement;
        var treasuryBefore = (await (await api.LedgerAsync()).GetBalanceAsync(AccountIds.Treasury)).Posted;

        var spawned = await client.SpawnAsync(new SpawnRequest("scout", 300, strategy));

        spawned.Agent.ParentId.ShouldBe("genesis");
        spawned.Agent.RootId.ShouldBe("genesis");
        spawned.Agent.Generation.ShouldBe(1);
        spawned.Agent.Name.ShouldBe("scout");
        spawned.Endowment.ShouldBe(300);
        spawned.Fee.ShouldBe(10);
        (await client.GetBalanceAsync()).Available.ShouldBe(1000 - 300 - 10);
        (await api.AvailableAsync(spawned.Agent.Id)).ShouldBe(300);
        (await (await api.LedgerAsync()).GetBalanceAsync(AccountIds.Treasury)).Posted.ShouldBe(treasuryBefore + 10);
        var workspace = Path.Combine(api.WorkspacesRoot, spawned.Agent.Id);
        File.ReadAllText(Path.Combine(workspace, "README.md")).ShouldBe("genesis template");
        File.ReadAllText(Path.Combine(workspace, "notes", "plan.txt")).ShouldBe("plan");
        JsonDocument.Parse(File.ReadAllText(Path.Combine(workspace, "strategy.json"))).RootElement.GetProperty("maxBid").GetInt32().ShouldBe(40);
        var transfers = await (await api.LedgerAsync()).GetTransfersAsync(AccountIds.ForAgent("genesis"), 0, 10);
        transfers.Select(t => t.Kind).ShouldContain(TransferKind.SpawnTransfer);
        transfers.Select(t => t.Kind).ShouldContain(TransferKind.SpawnFee);
        (await (await api.LedgerAsync()).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task The_lineage_tree_shows_parents_children_and_generations()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 1000);
        var client = api.TypedClient(token);
        var child = await client.SpawnAsync(new SpawnRequest("a", 100));
        var grandchild = await api.TypedClient(await api.IssueAsync(child.Agent.Id, "exe-child"))
            .SpawnAsync(new SpawnRequest("b", 20));

        var tree = await client.GetLineageAsync(grandchild.Agent.Id);

        tree.Agent.Id.ShouldBe("genesis");
        tree.Children.Single().Agent.Id.ShouldBe(child.Agent.Id);
        tree.Children.Single().Children.Single().Agent.ShouldBe(grandchild.Agent);
        grandchild.Agent.Generation.ShouldBe(2);
        grandchild.Agent.RootId.ShouldBe("genesis");
        (await client.GetSelfAsync()).Id.ShouldBe("genesis");
    }

    [Fact]
    public async Task Spawning_beyond_the_balance_is_refused_and_leaves_no_agent_account_or_workspace()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 100);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("greedy", 95)); // 95 + fee 10 > 100

        await response.ShouldBeProblemAsync(HttpStatusCode.PaymentRequired, ErrorCodes.InsufficientFunds);
        (await api.SnapshotAsync()).ShouldBe(before);
        Directory.GetDirectories(api.WorkspacesRoot).Select(Path.GetFileName).ShouldBe(["genesis"]);
    }

    [Fact]
    public async Task An_agent_cannot_spawn_with_another_agents_credits()
    {
        await using var api = new ApiFactory();
        await api.AgentTokenAsync("rich", 10_000);
        var mallory = await api.AgentTokenAsync("mallory", 50);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(mallory).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("stolen", 5000, ParentId: "rich"));

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("""{"endowment":10}""", "name")]
    [InlineData("""{"name":"  ","endowment":10}""", "name")]
    [InlineData("""{"name":"x","endowment":0}""", "endowment")]
    [InlineData("""{"name":"x","endowment":10,"strategy":[1,2]}""", "strategy")]
    public async Task An_invalid_spawn_is_refused_field_by_field_and_changes_nothing(string body, string field)
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsync(ApiRoutes.Spawn,
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors(field).ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Spawning_deeper_than_the_generation_limit_is_refused()
    {
        await using var api = new ApiFactory(); // Spawn:MaxGeneration = 3
        await api.SeedAgentAsync("g0", 0);
        await api.SeedAgentAsync("g1", 0, "g0", 1);
        await api.SeedAgentAsync("g2", 0, "g1", 2);
        await api.SeedAgentAsync("g3", 1000, "g2", 3);
        var token = await api.IssueAsync("g3", "exe-g3");
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("g4", 10));

        await response.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ErrorCodes.SpawnLimit);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Spawning_more_children_in_one_cycle_than_allowed_is_refused()
    {
        await using var api = new ApiFactory(); // Spawn:MaxChildrenPerCycle = 2
        var token = await api.AgentTokenAsync("genesis", 1000);
        var client = api.TypedClient(token);
        await client.SpawnAsync(new SpawnRequest("one", 10));
        await client.SpawnAsync(new SpawnRequest("two", 10));
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("three", 10));

        await response.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity, ErrorCodes.SpawnLimit);
        (await api.SnapshotAsync()).ShouldBe(before);

        await using (var db = await api.DbAsync())
        {
            db.Add(new CycleRecord { Number = 1, Status = CycleStatus.Open, StartedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }
        (await client.SpawnAsync(new SpawnRequest("next-cycle", 10))).Agent.CreatedCycle.ShouldBe(1);
    }

    [Fact]
    public async Task A_replayed_spawn_returns_the_first_child_and_charges_once()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("genesis", 1000);
        var client = api.TypedClient(token);

        var first = await client.SpawnAsync(new SpawnRequest("once", 100), idempotencyKey: "spawn-1");
        var after = await api.SnapshotAsync();
        var replay = await client.SpawnAsync(new SpawnRequest("once", 100), idempotencyKey: "spawn-1");

        replay.ShouldBe(first);
        (await api.SnapshotAsync()).ShouldBe(after);
        (await client.GetBalanceAsync()).Available.ShouldBe(890);
    }

    [Fact]
    public async Task A_missing_workspace_template_refuses_the_spawn_and_changes_nothing()
    {
        await using var api = new ApiFactory(new Dictionary<string, string?> { ["Workspaces:Template"] = "/nonexistent/template" });
        // A parent without a workspace of its own (never ran) and no named template: the child would start from the default one.
        var token = await api.AgentTokenAsync("lonely", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("x", 10));

        await response.ShouldBeProblemAsync(HttpStatusCode.InternalServerError, ErrorCodes.Internal);
        (await api.SnapshotAsync()).ShouldBe(before);
    }
}
