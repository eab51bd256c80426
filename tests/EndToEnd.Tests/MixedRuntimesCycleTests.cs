using System.Collections.Concurrent;
using System.Text.Json;
using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.EndToEnd.Tests;

/// <summary>Acceptance of issue 10: an <c>image</c> agent, a <c>dotnet</c> agent (Genesis) and a <c>python</c> agent run in the same live cycle.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Runtimes")]
public sealed class MixedRuntimesCycleTests(DockerFixture docker)
{
    /// <summary>Reads its context and makes one API call over the unix socket with its token, like any Python agent's first step.</summary>
    private const string PythonScript = """
        import json, os, socket
        context = json.load(open(os.environ["CYAGENTS_ENV"]))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(context["apiSocket"])
        s.sendall(("GET /v1/market/prices HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + context["token"] + "\r\nConnection: close\r\n\r\n").encode())
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
        print("python:", reply.split(b"\r\n", 1)[0].decode(), "as", os.getuid())
        """;

    [Fact]
    public async Task An_image_agent_the_dotnet_genesis_and_a_python_agent_run_in_the_same_cycle_each_in_its_own_image()
    {
        var shell = await HostileAgent.ImageAsync(docker.Engine);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "mixed-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var images = new ConcurrentDictionary<string, string>();
        var outcomes = new ConcurrentDictionary<string, ExecutionOutcome>();
        var settings = Live.Settings(root) with { SandboxDecorator = inner => new Recording(inner, images, outcomes) };
        var bundle = new { cpuMillicores = 250, memoryMiB = 64, tokens = 0, attentionBasisPoints = 0 };

        IReadOnlyList<CycleReport> reports;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            await AddAsync(economy, "py-1", JsonSerializer.Serialize(new
            {
                runtime = "python", command = new[] { "python3", "-c", PythonScript }, env = new { }, entryBid = new { amount = 50, bundle },
            }));
            await AddAsync(economy, "img-1", JsonSerializer.Serialize(new
            {
                image = shell, command = new[] { "/bin/sh", "-c", "grep -q executionId \"$CYAGENTS_ENV\" && echo \"image: context read as $(id -u)\"" },
                env = new { }, entryBid = new { amount = 50, bundle },
            }));
            reports = await economy.RunCyclesAsync(1, TimeSpan.Zero);
        }

        var cycle = reports.Single();
        cycle.Conservation.Holds.ShouldBeTrue();
        var genesis = settings.Live!.Genesis.AgentId;
        foreach (var agent in new[] { genesis, "py-1", "img-1" })
            cycle.Executions.ShouldContain(e => e.AgentId == agent && e.Status == ExecutionStatus.Succeeded, $"{agent} did not run and succeed in cycle 1");
        images[genesis].ShouldStartWith("cyagents/runtime-dotnet:");
        images["py-1"].ShouldStartWith("cyagents/runtime-python:");
        images["img-1"].ShouldBe(shell);
        string Output(string agent) => string.Join("\n", outcomes[agent].Logs.Select(l => l.Text));
        Output("py-1").ShouldContain("python: HTTP/1.1 200 OK as");
        Output("img-1").ShouldContain("image: context read as");
        Output("py-1").ShouldNotContain(" as 0");
    }

    private static async Task AddAsync(LiveEconomy economy, string id, string manifestJson)
    {
        var databases = economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
        var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
        await using var db = await databases.CreateDbContextAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        var ledger = ledgers(db);
        await ledger.OpenAccountAsync(AccountIds.ForAgent(id), AccountKind.Agent);
        await ledger.TransferAsync(new TransferRequest($"{id}:endowment", AccountIds.Treasury, AccountIds.ForAgent(id), 1_000,
            TransferKind.Endowment, Memo: "mixed-runtimes test agent"));
        db.Add(new AgentRecord { Id = id, Name = id, RootId = id, CreatedAt = DateTimeOffset.UtcNow, ManifestJson = manifestJson });
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    private sealed class Recording(ISandbox inner, ConcurrentDictionary<string, string> images, ConcurrentDictionary<string, ExecutionOutcome> outcomes) : ISandbox
    {
        public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            images[request.AgentId] = request.Program?.Image ?? "(default)";
            var outcome = await inner.RunAsync(request, ct);
            outcomes[request.AgentId] = outcome;
            return outcome;
        }
    }
}
