using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.SystemApi.Tests.Infrastructure;

/// <summary>
/// The API on a real Kestrel listener on 127.0.0.1 (a browser needs a socket, not the in-memory test server), over SQLite in a
/// fresh temp folder, with the same settings as <see cref="ApiFactory"/>.
/// </summary>
public sealed class LoopbackApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackApi(WebApplication app, string root, string address) => (_app, Root, Address) = (app, root, address);

    public string Root { get; }
    /// <summary>http://127.0.0.1:port</summary>
    public string Address { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<LoopbackApi> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var root = Directory.CreateTempSubdirectory("cyagents-loopback-").FullName;
        var template = Directory.CreateDirectory(Path.Combine(root, "workspaces", "genesis"));
        File.WriteAllText(Path.Combine(template.FullName, "README.md"), "genesis template");
        var config = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(root, "cyagents.db")}",
            ["SystemApi:SocketPath"] = "",
            ["SystemApi:Urls"] = "http://127.0.0.1:0",
            ["SystemApi:OperatorToken"] = ApiFactory.OperatorSecret,
            ["SystemApi:OperatorTokenFile"] = Path.Combine(root, "operator.token"),
            ["SystemApi:RateLimitPerSecond"] = "100000",
            ["SystemApi:RateLimitBurst"] = "100000",
            ["SystemApi:AnonymousRateLimitPerSecond"] = "100000",
            ["SystemApi:AnonymousRateLimitBurst"] = "100000",
            ["SystemApi:MarketCacheMilliseconds"] = "0",
            ["Workspaces:Root"] = Path.Combine(root, "workspaces"),
            ["Workspaces:Template"] = template.FullName,
            ["Workspaces:Templates"] = Path.Combine(root, "workspaces"),
            ["History:Root"] = Path.Combine(root, "history"),
            ["SystemLog:Path"] = Path.Combine(root, "logs", "system.log"),
            ["SystemLog:Console"] = "false",
            ["Spawn:Fee"] = "10",
        };
        if (settings is not null)
            foreach (var (k, v) in settings) config[k] = v;
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddSystemApi(builder.Configuration);
        var app = builder.Build();
        app.MapSystemApi();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        return new LoopbackApi(app, root, address);
    }

    public async Task<CyAgentsDbContext> DbAsync() =>
        await Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();

    /// <summary>An agent (root unless <paramref name="parentId"/>) with an account endowed from the treasury.</summary>
    public async Task SeedAgentAsync(string agentId, long credits, string? parentId = null)
    {
        await using var db = await DbAsync();
        var parent = parentId is null ? null : await db.Set<AgentRecord>().FindAsync(parentId);
        db.Add(new AgentRecord
        {
            Id = agentId, Name = agentId, ParentId = parentId, RootId = parent?.RootId ?? agentId, Generation = parent is null ? 0 : parent.Generation + 1,
            CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
        var ledger = Services.GetRequiredService<LedgerBinding>()(db);
        await ledger.OpenAccountAsync(AccountIds.ForAgent(agentId), AccountKind.Agent);
        if (credits > 0)
            await ledger.TransferAsync(new TransferRequest($"seed:{agentId}", AccountIds.Treasury, AccountIds.ForAgent(agentId), credits, TransferKind.Endowment));
    }

    public async Task<string> IssueAsync(string agentId, string executionId, long cycle = 1) =>
        (await Services.GetRequiredService<AgentTokenService>().IssueAsync(agentId, executionId, cycle)).Token;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* a log file still open on slow shutdown; the temp folder is left behind */ }
    }
}
