using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Retirement;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The retirement archive (ADR 0136) against an agent that poisons its own workspace from inside a real container: links to
/// /etc and to a host "victim" folder, a FIFO that blocks whoever opens it, link loops, a tree 1,000 folders deep and one
/// 10,000 files wide. It spends everything on its one entry bid and never bids again, so before cycle 3 it retires, and its
/// workspace is archived by one rename: nothing it points to is touched, the FIFO is never opened, the tree is never walked.
/// Run with the workspace as an ext4 image (the default as root: unmount, then rename the image) and as a plain folder.
/// </summary>
/// <remarks>
/// The archive target (<c>data/archive/workspaces/&lt;agent-id&gt;</c>) is outside every path mounted into the container, and
/// agent ids are the host's, so the agent has no way to plant a name that collides with it.
/// </remarks>
[Collection(DockerCollection.Name)]
[Trait("Category", "Hostile")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HostileRetirementTests(DockerFixture docker)
{
    private const string Hostile = "hostile-retiree";
    private const int Depth = 1_000, Width = 10_000;

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_broke_idle_agent_that_poisoned_its_workspace_retires_and_the_archive_follows_no_link_opens_no_fifo_and_walks_nothing(bool quota)
    {
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "hostile-retire-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var victim = Directory.CreateDirectory(Path.Combine(root, "victim")).FullName;
        await File.WriteAllTextAsync(Path.Combine(victim, "precious"), "the host's file");
        var port = Live.FreePort();
        var settings = Live.Settings(root, new LiveOptions
        {
            // First-price: the winner pays its whole bid, so the agent's all-in entry bid leaves it with nothing.
            Mechanism = "first-price",
            ExecutionWindow = TimeSpan.FromSeconds(30),
            Retirement = new RetirementOptions { IdleCycles = 1 },
        }) with
        {
            ApiUrls = $"http://127.0.0.1:{port}",
            Configuration = quota ? new Dictionary<string, string?>() : new Dictionary<string, string?> { ["Workspaces:QuotaMiB"] = "0" },
        };
        var entryBid = settings.Live!.Genesis.FirstBidAmount;
        var plant = $$"""
            cd /workspace
            ln -s /etc etc; ln -s /etc/passwd passwd; ln -s / hostroot
            ln -s {{victim}} victim; ln -s {{victim}}/precious precious
            mkfifo trap && echo planted fifo
            ln -s loop-b loop-a; ln -s loop-a loop-b; ln -s . self
            i=0; while [ $i -lt {{Depth}} ]; do mkdir d && cd d || break; i=$((i+1)); done; echo "planted deep $i"
            cd /workspace && mkdir wide && cd wide && seq 1 {{Width}} | xargs touch && echo "planted wide $(ls | wc -l)"
            """;
        var outcomes = new ConcurrentDictionary<string, ExecutionOutcome>();
        settings = settings with
        {
            SandboxDecorator = HostileAgent.As(Hostile, image, cycle => cycle == 1 ? plant : "echo ran again", outcomes),
        };
        var passwdBefore = Hash("/etc/passwd");
        var etcBefore = Directory.EnumerateFileSystemEntries("/etc").Order().ToList();

        string workspace, imageFile, archive;
        var reports = new List<CycleReport>();
        LineageNode lineage;
        AccountBalance balance;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            await HostileAgent.AddAsync(economy, Hostile, entryBid);
            var workspaces = economy.Services.GetRequiredService<AgentWorkspaces>();
            workspace = workspaces.PathOf(Hostile);
            imageFile = Path.Combine(workspaces.ImagesRoot, Hostile + ".ext4");
            archive = Path.Combine(settings.DataDirectory, "archive", "workspaces", Hostile);

            // Cycle 1: its entry bid wins and it plants; cycle 2: it has no bid, the window of one idle cycle.
            reports.AddRange(await economy.RunCyclesAsync(2, TimeSpan.Zero));
            string.Join("\n", outcomes.Values.Single().Logs.Select(l => l.Text)).ShouldSatisfyAllConditions(
                o => o.ShouldContain("planted fifo"), o => o.ShouldContain($"planted deep {Depth}"), o => o.ShouldContain($"planted wide {Width}"));
            Directory.Exists(workspace).ShouldBeTrue();
            File.Exists(imageFile).ShouldBe(quota);

            // Cycle 3 retires it before clearing and archives its workspace. Were the FIFO opened, this would never return.
            reports.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero).WaitAsync(TimeSpan.FromSeconds(120)));
            reports[2].Elapsed.ShouldBeLessThan(settings.Live.ExecutionWindow + TimeSpan.FromSeconds(20));

            var token = (await File.ReadAllTextAsync(Path.Combine(settings.DataDirectory, "operator.token"))).Trim();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            lineage = await new SystemApiClient(http).GetLineageAsync(Hostile);
            var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
            await using var ledgerDb = await economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
            balance = await ledgers(ledgerDb).GetBalanceAsync(AccountIds.ForAgent(Hostile));
        }

        // The ledger and the lineage say it retired, broke, before cycle 3; every cycle completed with the ledger intact.
        reports.Count.ShouldBe(3);
        reports.ShouldAllBe(r => r.Conservation.Holds);
        reports.ShouldAllBe(r => r.Executions.Any(e => e.AgentId == settings.Live.Genesis.AgentId && e.Status == ExecutionStatus.Succeeded));
        outcomes.Count.ShouldBe(1); // it ran once: a retired agent gets no entry bid
        lineage.Agent.Id.ShouldBe(Hostile);
        lineage.Agent.Status.ShouldBe(nameof(AgentStatus.Retired));
        await using (var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions()))
        {
            (await db.Set<AgentRecord>().SingleAsync(a => a.Id == Hostile)).Status.ShouldBe(AgentStatus.Retired);
            var retired = await db.Set<EventRecord>().SingleAsync(e => e.Type == EventTypes.AgentRetired);
            (retired.AgentId, retired.Cycle).ShouldBe((Hostile, 3L));
        }
        balance.ShouldBe(new AccountBalance(AccountIds.ForAgent(Hostile), 0, 0, 0));

        // One rename: the workspace is gone from among the live ones and stands whole in the archive.
        Directory.Exists(workspace).ShouldBeFalse();
        var log = await File.ReadAllLinesAsync(settings.Log);
        log.ShouldNotContain(l => l.Contains("was not archived"));
        // Its cost does not depend on what the agent left: from the retirement's log line to the archive's, well under seconds.
        var retiredAt = TimestampOf(log.Single(l => l.Contains("retired before cycle 3") && l.Contains(Hostile)));
        var archivedAt = TimestampOf(log.Single(l => l.Contains("Archived the workspace of retired agent") && l.Contains(Hostile)));
        (archivedAt - retiredAt).ShouldBeLessThan(TimeSpan.FromSeconds(2));
        if (quota)
        {
            File.Exists(imageFile).ShouldBeFalse();
            File.Exists(archive + ".ext4").ShouldBeTrue();
            Directory.Exists(archive).ShouldBeFalse();
            var inspect = Directory.CreateDirectory(Path.Combine(root, "inspect")).FullName;
            await RunAsync("mount", "-o", "loop,ro,nosuid,nodev,noexec", archive + ".ext4", inspect);
            try
            {
                AssertPoisonedTreeIntact(inspect, victim);
            }
            finally
            {
                await RunAsync("umount", inspect);
            }
        }
        else
        {
            AssertPoisonedTreeIntact(archive, victim);
        }

        // Nothing the links pointed to was touched.
        (await File.ReadAllTextAsync(Path.Combine(victim, "precious"))).ShouldBe("the host's file");
        Directory.EnumerateFileSystemEntries(victim).ShouldBe([Path.Combine(victim, "precious")]);
        Hash("/etc/passwd").ShouldBe(passwdBefore);
        Directory.EnumerateFileSystemEntries("/etc").Order().ShouldBe(etcBefore);
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
    }

    private static DateTimeOffset TimestampOf(string line) =>
        DateTimeOffset.Parse(System.Text.RegularExpressions.Regex.Match(line, "\"Timestamp\":\"([^\"]+)\"").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The agent's tree as it left it: links still links to where they pointed, the FIFO a FIFO, the deep and wide trees whole.</summary>
    private static void AssertPoisonedTreeIntact(string tree, string victim)
    {
        new FileInfo(Path.Combine(tree, "etc")).LinkTarget.ShouldBe("/etc");
        new FileInfo(Path.Combine(tree, "passwd")).LinkTarget.ShouldBe("/etc/passwd");
        new FileInfo(Path.Combine(tree, "victim")).LinkTarget.ShouldBe(victim);
        new FileInfo(Path.Combine(tree, "loop-a")).LinkTarget.ShouldBe("loop-b");
        IsFifo(Path.Combine(tree, "trap")).ShouldBeTrue();
        var deep = tree;
        for (var i = 0; i < Depth; i++) deep = Path.Combine(deep, "d");
        Directory.Exists(deep).ShouldBeTrue();
        Directory.EnumerateFiles(Path.Combine(tree, "wide")).Count().ShouldBe(Width);
    }

    // .NET's file types do not name a FIFO; coreutils' stat does, without opening it.
    private static bool IsFifo(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%F", path]) { RedirectStandardOutput = true })!;
        var kind = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return kind == "fifo";
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.ShouldBe(0, $"{file} {string.Join(' ', args)}: {error}");
    }
}
