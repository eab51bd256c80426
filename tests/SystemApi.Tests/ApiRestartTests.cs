using System.Net.Http;
using System.Net.Sockets;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// The API restarts under running agents (issue 15 item 5, ADR 0088): the agent's calls fail with a clear connection error
/// while it is down and work again when it is back, on the same socket path and with the same token — tokens are hashes in
/// <c>agent_tokens</c>, so a second host on the same database file knows every token the first one issued and revoked.
/// </summary>
public sealed class ApiRestartTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-restart-").FullName;
    private readonly string _socket;

    public ApiRestartTests() => _socket = Path.Combine(Directory.CreateDirectory(Path.Combine(_root, "api")).FullName, "api.sock");

    /// <summary>One API process: Kestrel on the unix socket over the database file, as <c>run</c> hosts it.</summary>
    private async Task<WebApplication> StartApiAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(_root, "cyagents.db")}",
            ["SystemApi:SocketPath"] = _socket,
            ["SystemApi:Urls"] = "",
            ["SystemApi:OperatorTokenFile"] = Path.Combine(_root, "operator.token"),
            ["Workspaces:Root"] = Path.Combine(_root, "workspaces"),
        });
        builder.Logging.AddSystemLog(SystemLog.Create(Path.Combine(_root, "system.log"), SystemLog.Orchestrator));
        builder.Services.AddSystemApi(builder.Configuration);
        var app = builder.Build();
        app.MapSystemApi();
        await app.StartAsync();
        return app;
    }

    private static async Task SeedAgentAsync(IServiceProvider services, string agentId, long credits)
    {
        await using var db = await services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
        var ledger = services.GetRequiredService<LedgerBinding>()(db);
        db.Add(new AgentRecord { Id = agentId, Name = agentId, RootId = agentId, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
        await ledger.OpenAccountAsync(AccountIds.ForAgent(agentId), AccountKind.Agent);
        await ledger.TransferAsync(new TransferRequest($"seed:{agentId}", AccountIds.Treasury, AccountIds.ForAgent(agentId), credits, TransferKind.Endowment));
    }

    [Fact]
    public async Task An_agents_token_fails_clearly_while_the_api_is_down_and_works_again_after_it_restarts()
    {
        var first = await StartApiAsync();
        await SeedAgentAsync(first.Services, "runner", 700);
        var tokens = first.Services.GetRequiredService<AgentTokenService>();
        var token = (await tokens.IssueAsync("runner", "c1-runner", 1)).Token;
        var ended = (await tokens.IssueAsync("runner", "c0-runner", 0)).Token;
        await tokens.RevokeExecutionAsync("c0-runner");
        // The agent's one client for its whole execution, as the Genesis agent keeps it.
        using var agent = SystemApiClient.ForUnixSocket(_socket, token);
        (await agent.GetBalanceAsync()).Available.ShouldBe(700);

        await first.DisposeAsync();
        var down = await Should.ThrowAsync<HttpRequestException>(() => agent.GetBalanceAsync());
        down.InnerException.ShouldBeOfType<SocketException>().SocketErrorCode
            .ShouldBeOneOf(SocketError.AddressNotAvailable, SocketError.ConnectionRefused);

        await using var second = await StartApiAsync();
        (await agent.GetBalanceAsync()).Available.ShouldBe(700, "the token issued before the restart is accepted after it");
        var identity = (await second.Services.GetRequiredService<AgentTokenService>().ValidateAsync(token)).ShouldNotBeNull();
        (identity.AgentId, identity.ExecutionId, identity.Cycle).ShouldBe(("runner", "c1-runner", 1L));
        using var revoked = SystemApiClient.ForUnixSocket(_socket, ended);
        var refused = await Should.ThrowAsync<SystemApiException>(() => revoked.GetBalanceAsync());
        ((int)refused.StatusCode).ShouldBe(401, "a token revoked before the restart stays revoked after it");
    }

    [Fact]
    public async Task A_bid_placed_after_the_restart_with_the_old_token_is_filed_for_the_same_agent_and_execution()
    {
        var first = await StartApiAsync();
        await SeedAgentAsync(first.Services, "bidder", 500);
        var token = (await first.Services.GetRequiredService<AgentTokenService>().IssueAsync("bidder", "c1-bidder", 1)).Token;
        await first.DisposeAsync();

        await using var second = await StartApiAsync();
        using var agent = SystemApiClient.ForUnixSocket(_socket, token);
        var bid = await agent.PlaceBidAsync(new PlaceBidRequest(new ResourceBundleDto(100, 32, 0, 0), 40),
            "restart-bid-1");

        await using var db = await second.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
        var stored = await db.Set<BidRecord>().SingleAsync(b => b.Id == bid.Id);
        stored.AgentId.ShouldBe("bidder");
        (await agent.GetBalanceAsync()).Available.ShouldBe(460);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
