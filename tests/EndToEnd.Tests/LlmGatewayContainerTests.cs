using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The Genesis agent in a real network-less container asks the LLM gateway over the mounted unix socket; the gateway
/// forwards to a provider on the host's loopback with a key it read from a file. Then the container's environment, its
/// whole file system, its workspace, its logs and system.log are searched for the key: it is nowhere.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class LlmGatewayContainerTests(DockerFixture docker)
{
    [Fact]
    public async Task An_agent_in_a_container_calls_the_gateway_over_the_socket_and_the_provider_key_never_reaches_it()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "llm-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var key = "sk-e2e-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var keyFile = Path.Combine(Directory.CreateDirectory(Path.Combine(root, "secrets")).FullName, "llm.key");
        await File.WriteAllTextAsync(keyFile, key + "\n");
        var seenKeys = new List<string>();

        // The provider: a loopback server speaking OpenAI's format that reports usage and keeps the bearer it was sent.
        await using var upstream = await StartUpstreamAsync(seenKeys);
        var apiFolder = Directory.CreateDirectory(Path.Combine(root, "api")).FullName;
        var logPath = Path.Combine(root, "system.log");
        await using var api = await StartApiAsync(root, Path.Combine(apiFolder, "api.sock"), logPath, new Dictionary<string, string?>
        {
            ["Llm:Providers:0:Name"] = "host-provider",
            ["Llm:Providers:0:Kind"] = "openai-compatible",
            ["Llm:Providers:0:BaseUrl"] = upstream.Urls.First().TrimEnd('/') + "/v1",
            ["Llm:Providers:0:ApiKeyFile"] = keyFile,
            ["Llm:Providers:0:Models:0"] = "gpt-e2e",
        });

        const string agentId = "llm-asker";
        var executionId = "x" + Guid.NewGuid().ToString("N")[..10];
        await using (var db = await api.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync())
        {
            db.Add(new AgentRecord { Id = agentId, Name = agentId, RootId = agentId, CreatedAt = DateTimeOffset.UtcNow });
            db.Add(new ExecutionRecord { Id = executionId, AgentId = agentId, Cycle = 1, Status = ExecutionStatus.Running, Granted = ResourceBundle.Create(250, 96, 2000) });
            await db.SaveChangesAsync();
            await api.Services.GetRequiredService<LedgerBinding>()(db).OpenAccountAsync(AccountIds.ForAgent(agentId), AccountKind.Agent);
        }
        var token = (await api.Services.GetRequiredService<AgentTokenService>().IssueAsync(agentId, executionId, 1)).Token;

        var workspaces = new AgentWorkspaces(Path.Combine(root, "workspaces"), Path.Combine(root, "no-template"));
        var workspace = workspaces.Prepare(agentId, JsonSerializer.Serialize(new
        {
            bidFraction = 0.1, bundle = new { cpuMillicores = 250, memoryMiB = 96, tokens = 2000, attentionBasisPoints = 0 }, llmQuestion = "What is the price of a token?", llmModel = "gpt-e2e", llmMaxTokens = 32,
        }), AgentImage.SandboxUid);
        var env = new AgentEnvironment
        {
            AgentId = agentId, ExecutionId = executionId, Token = token, Cycle = 1, NextCycle = 2,
            Bundle = new ResourceBundleDto(250, 96, 2000, 0), Balance = new BalanceView(0, 0, 0), Prices = new PricesView(0, 0, 0, 0),
            ApiSocket = "/run/cyagents/api.sock", Deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30),
        };
        var context = workspaces.DeliverEnvironment(env, AgentImage.SandboxUid);
        var sandbox = new DockerSandbox(docker.Engine, new SandboxOptions { Image = docker.Image, ApiSocketFolder = apiFolder },
            NullLogger<DockerSandbox>.Instance);
        IReadOnlyList<string>? containerEnv = null;
        byte[] fileSystem = [];
        sandbox.OnExited = async inspect =>
        {
            containerEnv = inspect.Config.Env;
            fileSystem = await ExportAsync(inspect.Id);
        };

        var outcome = await sandbox.RunAsync(new ExecutionRequest(executionId, agentId, 1, ResourceBundle.Create(250, 96, 2000), workspace, env,
            TimeSpan.FromSeconds(30)) { ContextFolder = context }, CancellationToken.None);

        var output = string.Join("\n", outcome.Logs.Select(l => l.Text));
        outcome.Status.ShouldBe(ExecutionStatus.Succeeded, output);
        output.ShouldContain("llm (gpt-e2e, 57 tokens): the host answers");
        seenKeys.ShouldBe(["Bearer " + key]); // the provider got the host's key; the agent's token stayed on the host
        await using (var db = await api.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync())
        {
            (await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == executionId)).TokensUsed.ShouldBe(57);
            var call = await db.Set<LlmCallRecord>().SingleAsync();
            (call.Provider, call.ChargedTokens, call.Outcome).ShouldBe(("host-provider", 57L, LlmCallOutcome.Succeeded));
        }

        // The key is nowhere the agent could read or leave it.
        containerEnv.ShouldNotBeNull().ShouldNotBeEmpty();
        containerEnv.ShouldAllBe(v => !v.Contains(key));
        containerEnv.ShouldAllBe(v => !v.Contains("llm.key"));
        fileSystem.Length.ShouldBeGreaterThan(1_000_000); // the whole root file system was exported
        fileSystem.AsSpan().IndexOf(Encoding.UTF8.GetBytes(key)).ShouldBe(-1);
        foreach (var file in Directory.EnumerateFiles(workspace, "*", SearchOption.AllDirectories)
                     .Concat(Directory.EnumerateFiles(context, "*", SearchOption.AllDirectories)).Concat(Directory.EnumerateFiles(apiFolder)))
            if (!file.EndsWith(".sock", StringComparison.Ordinal))
                (await File.ReadAllBytesAsync(file)).AsSpan().IndexOf(Encoding.UTF8.GetBytes(key)).ShouldBe(-1, file);
        output.ShouldNotContain(key);
        await api.DisposeAsync(); // flushes system.log
        var log = await File.ReadAllTextAsync(logPath);
        log.ShouldContain("\"CallId\"");
        log.ShouldNotContain(key);
    }

    private static async Task<WebApplication> StartUpstreamAsync(List<string> seenKeys)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            lock (seenKeys) seenKeys.Add(http.Request.Headers.Authorization.ToString());
            var body = (await JsonNode.ParseAsync(http.Request.Body))!;
            await http.Response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = "chatcmpl-e2e", ["object"] = "chat.completion", ["created"] = 1, ["model"] = (string?)body["model"],
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "the host answers" }, ["finish_reason"] = "stop",
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 45, ["completion_tokens"] = 12, ["total_tokens"] = 57 },
            });
        });
        await app.StartAsync();
        return app;
    }

    private static async Task<WebApplication> StartApiAsync(string root, string socket, string logPath, Dictionary<string, string?> llm)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(root, "cyagents.db")}",
            ["SystemApi:SocketPath"] = socket,
            ["SystemApi:Urls"] = "",
            ["SystemApi:OperatorTokenFile"] = Path.Combine(root, "operator.token"),
            ["Workspaces:Root"] = Path.Combine(root, "workspaces"),
            ["Workspaces:Template"] = Path.Combine(root, "no-template"),
        }.Concat(llm));
        builder.Logging.AddSystemLog(SystemLog.Create(logPath, SystemLog.SystemApi));
        builder.Services.AddSystemApi(builder.Configuration);
        var app = builder.Build();
        app.MapSystemApi();
        await app.StartAsync();
        return app;
    }

    /// <summary><c>GET /containers/{id}/export</c>: the container's root file system as a tar.</summary>
    private static async Task<byte[]> ExportAsync(string containerId)
    {
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(DockerEngine.DefaultSocket), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });
        return await http.GetByteArrayAsync($"http://docker/v1.41/containers/{containerId}/export");
    }
}
