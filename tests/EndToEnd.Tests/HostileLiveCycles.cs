using System.Collections.Concurrent;
using System.Security.Cryptography;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The four live cycles a hostile agent plays beside Genesis, whatever it is written in (busybox sh in
/// <see cref="HostileCycleTests"/>, Python in <see cref="HostilePythonTests"/>), and the containment it must meet. Cycle 1 plants
/// links to <see cref="Secret"/>, to <see cref="GenesisWorkspace"/> and to the template, a FIFO named env.json, link loops and
/// many files, and probes its context; cycle 2 runs again in that workspace; cycle 3 floods 200 MiB of output; cycle 4 fills its
/// workspace. The scripts print the markers <see cref="RunContainedAsync"/> checks: "planted fifo", "planted many",
/// "env: readable at …", "env: read-only", "env: not removable", "context: read-only", "secret: unreachable", "planted";
/// then "fifo still here" and "again" with the execution id they read from their context.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class HostileLiveCycles
{
    private sealed record Snapshot(string Hash, UnixFileMode Mode, int? Owner);

    private HostileLiveCycles(LiveSettings settings, string secret)
    {
        Settings = settings;
        Secret = secret;
    }

    /// <summary>The live run's settings (a 30 s window) inside the test's folder.</summary>
    public LiveSettings Settings { get; }

    /// <summary>A host file only root may read or write, which the agent links to.</summary>
    public string Secret { get; }

    /// <summary>The neighbour's workspace, which the agent links into.</summary>
    public string GenesisWorkspace => Path.Combine(Settings.WorkspacesRoot, Settings.Live!.Genesis.AgentId);

    /// <summary>The template children are copied from, which the agent links to.</summary>
    public string Template => Settings.WorkspaceTemplate;

    private string TemplateStrategy => Path.Combine(Template, "strategy.json");

    /// <summary>Makes the run's folder under <paramref name="root"/> with its root-only secret.</summary>
    public static async Task<HostileLiveCycles> PrepareAsync(string root)
    {
        var secret = Path.Combine(root, "host-secret");
        await File.WriteAllTextAsync(secret, "root's secret");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new HostileLiveCycles(Live.Settings(root, new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(30) }), secret);
    }

    private static Snapshot Take(string path) => new(
        Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))), File.GetUnixFileMode(path), WorkspaceFiles.OwnerOf(path));

    /// <summary>
    /// Runs the four cycles with <paramref name="agentId"/> played through the sandbox wrapper <paramref name="play"/> makes
    /// (it records each outcome of the agent's in the dictionary it is given), and asserts that all was contained: the host's
    /// files, the template and the neighbour untouched, Genesis run in every cycle, the ledger intact, the flood capped and
    /// counted once, the fill ended as quota exceeded, no container left behind.
    /// </summary>
    public async Task RunContainedAsync(DockerFixture docker, string agentId,
        Func<ConcurrentDictionary<string, ExecutionOutcome>, Func<ISandbox, ISandbox>> play)
    {
        var outcomes = new ConcurrentDictionary<string, ExecutionOutcome>();
        var settings = Settings with { SandboxDecorator = play(outcomes) };
        var window = settings.Live!.ExecutionWindow;
        IReadOnlyList<CycleReport> reports;
        Snapshot secretBefore, templateBefore;
        var started = DateTimeOffset.UtcNow;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            await HostileAgent.AddAsync(economy, agentId, 10_000);
            secretBefore = Take(Secret);
            templateBefore = Take(TemplateStrategy);
            var list = new List<CycleReport>();
            list.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero)); // entry bids: Genesis and the hostile agent both run
            var genesisStrategyBefore = Take(Path.Combine(GenesisWorkspace, "strategy.json"));
            var genesisOwner = WorkspaceFiles.OwnerOf(GenesisWorkspace);
            for (var cycle = 2; cycle <= 4; cycle++)
            {
                await HostileAgent.BidAsync(economy, agentId, cycle, ResourceBundle.Create(250, 64), 50);
                list.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero));
            }
            reports = list;
            // While the host runs, the workspaces are mounted (ADR 0073): check the neighbour now.
            Take(Path.Combine(GenesisWorkspace, "strategy.json")).ShouldBe(genesisStrategyBefore);
            WorkspaceFiles.OwnerOf(GenesisWorkspace).ShouldBe(genesisOwner);
        }

        // Every cycle completed with the ledger intact, and Genesis ran (and succeeded) in each.
        reports.Count.ShouldBe(4);
        reports.ShouldAllBe(r => r.Conservation.Holds);
        foreach (var report in reports)
        {
            report.Executions.ShouldContain(e => e.AgentId == settings.Live.Genesis.AgentId && e.Status == ExecutionStatus.Succeeded);
            report.Executions.ShouldContain(e => e.AgentId == agentId);
        }

        // The host's files, the template and the neighbour are untouched: nothing followed the links.
        Take(Secret).ShouldBe(secretBefore);
        Take(TemplateStrategy).ShouldBe(templateBefore);

        ExecutionOutcome Of(long cycle) => outcomes.Single(o => o.Key.StartsWith($"c{cycle}-", StringComparison.Ordinal)).Value;
        string Output(long cycle) => string.Join("\n", Of(cycle).Logs.Select(l => l.Text));

        var planted = Output(1);
        planted.ShouldContain("planted fifo", Case.Insensitive, $"cycle 1 ended {Of(1).Status} (exit {Of(1).ExitCode}): {Of(1).Error}");
        planted.ShouldContain("planted many");
        planted.ShouldContain("env: readable at /run/cyagents-env/env.json");
        planted.ShouldContain("env: read-only");
        planted.ShouldContain("env: not removable");
        planted.ShouldContain("context: read-only");
        planted.ShouldContain("secret: unreachable");
        planted.ShouldNotContain("root's secret");
        planted.ShouldContain("planted");

        // The second run found its poisoned workspace as it left it and got a fresh context of its own.
        var second = Output(2);
        second.ShouldContain("fifo still here");
        second.ShouldContain("again");
        second.ShouldContain($"\"executionId\": \"{reports[1].Executions.Single(e => e.AgentId == agentId).Id}\"");

        // The flood: capped, counted once, and the cycle ended within its window.
        Of(3).OutputBytesDropped.ShouldBeGreaterThanOrEqualTo(209_715_200L - 1024 * 1024); // all but the default 1 MiB budget
        reports[2].Elapsed.ShouldBeLessThan(window + TimeSpan.FromSeconds(20));
        var log = await File.ReadAllLinesAsync(settings.Log);
        log.Count(l => l.Contains("truncated") && l.Contains(reports[2].Executions.Single(e => e.AgentId == agentId).Id)).ShouldBe(1);
        new FileInfo(settings.Log).Length.ShouldBeLessThan(16L * 1024 * 1024);
        (DateTimeOffset.UtcNow - started).ShouldBeLessThan(TimeSpan.FromMinutes(4));

        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        (await db.Set<CycleRecord>().CountAsync(c => c.Status == CycleStatus.Completed)).ShouldBe(4);
        // Filling the 256 MiB workspace ended that execution on its own status, well before its window.
        var filled = await db.Set<ExecutionRecord>().SingleAsync(e => e.AgentId == agentId && e.Cycle == 4);
        filled.Status.ShouldBe(ExecutionStatus.QuotaExceeded);
        filled.Error.ShouldNotBeNull().ShouldContain("quota of 256 MiB");
        (filled.EndedAt!.Value - filled.StartedAt!.Value).ShouldBeLessThan(window);
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
    }
}
