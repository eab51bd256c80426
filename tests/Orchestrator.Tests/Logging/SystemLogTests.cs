using System.Diagnostics;
using System.Text.Json;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Tests.Cycles;
using CyAgents.SystemApi.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;

namespace CyAgents.Orchestrator.Tests.Logging;

/// <summary>The audit log never goes quiet: it rolls and prunes by size, loses no event in a burst, and settles every bid aloud.</summary>
public sealed class SystemLogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-log-").FullName;
    private string LogPath => Path.Combine(_root, "logs", "system.log");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private IReadOnlyList<JsonElement> Events() =>
        SystemLog.Files(LogPath).SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void The_log_rolls_at_its_size_limit_and_keeps_only_the_configured_number_of_files()
    {
        var options = new SystemLogOptions { FileSizeLimitBytes = 4096, RetainedFileCount = 3 };
        using (var logger = SystemLog.Create(LogPath, options: options))
        {
            for (var i = 0; i < 400; i++) logger.Information("Event {Number} with some padding to fill the file {Padding}", i, new string('p', 40));
        }

        var files = SystemLog.Files(LogPath);
        files.Count.ShouldBe(3);
        // The shared sink checks the limit before each write, so a file may end up to one event past it.
        files.ShouldAllBe(f => new FileInfo(f).Length <= 4096 + 1024);
        // The oldest files were pruned; the newest one holds the last event, and what is kept is a contiguous tail.
        var numbers = Events().Select(e => e.GetProperty("Properties").GetProperty("Number").GetInt32()).ToList();
        numbers[^1].ShouldBe(399);
        numbers.ShouldBe(Enumerable.Range(numbers[0], numbers.Count));
        numbers[0].ShouldBeGreaterThan(0);
    }

    [Fact]
    public void A_burst_far_larger_than_the_queue_loses_no_event()
    {
        const int burst = 20_000;
        using (var logger = SystemLog.Create(LogPath, options: new SystemLogOptions { BufferSize = 16 }))
        {
            Parallel.For(0, burst, i => logger.Information("Burst event {Number}", i));
        }

        var numbers = Events().Select(e => e.GetProperty("Properties").GetProperty("Number").GetInt32()).ToHashSet();
        numbers.Count.ShouldBe(burst);
    }

    [Fact]
    public void Invalid_log_settings_are_refused_naming_the_key()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["SystemLog:RetainedFileCount"] = "0" }).Build();
        Should.Throw<InvalidOperationException>(() => SystemLogOptions.From(config)).Message.ShouldContain("SystemLog:RetainedFileCount");
    }

    [Fact]
    public async Task Settlement_writes_one_event_per_bid_with_outcome_payment_and_reason()
    {
        using var serilog = SystemLog.Create(LogPath);
        using var factory = new SerilogLoggerFactory(serilog);
        await using var world = new CycleWorld(supply: ResourceBundle.Create(1000, 1024, 0, 0), logger: factory.CreateLogger<AllocationCycle>());
        await world.AddAgentAsync("a", 1000);
        await world.AddAgentAsync("b", 1000);
        await world.AddAgentAsync("greedy", 1000);
        var winner = await world.BidAsync("a", 1, ResourceBundle.Create(800, 512), 300, "bid-win");
        var outbid = await world.BidAsync("b", 1, ResourceBundle.Create(800, 512), 100, "bid-outbid");
        var rejected = await world.BidAsync("greedy", 1, ResourceBundle.Create(64_000, 512), 400, "bid-rejected");

        var report = await world.Cycle.RunAsync(1, default);
        serilog.Dispose();

        var settled = Events().Where(e => e.GetProperty("MessageTemplate").GetString()!.Contains("settled:")).ToList();
        settled.Count.ShouldBe(3);
        var byBid = settled.ToDictionary(e => e.GetProperty("Properties").GetProperty("BidId").GetString()!, e => e.GetProperty("Properties"));
        byBid.Keys.ShouldBe([winner, outbid, rejected], ignoreOrder: true);
        foreach (var p in byBid.Values)
        {
            p.GetProperty("Cycle").GetInt64().ShouldBe(1);
            p.GetProperty("Component").GetString().ShouldBe("Orchestrator");
            p.GetProperty("AgentId").GetString().ShouldNotBeNullOrEmpty();
            p.GetProperty("Amount").GetInt64().ShouldBeGreaterThan(0);
        }
        byBid[winner].GetProperty("Outcome").GetString().ShouldBe("Won");
        byBid[winner].GetProperty("Payment").GetInt64().ShouldBe(report.Winners.Single().Payment);
        byBid[outbid].GetProperty("Outcome").GetString().ShouldBe("Lost");
        byBid[outbid].GetProperty("Payment").GetInt64().ShouldBe(0);
        byBid[outbid].GetProperty("Reason").GetString()!.ShouldContain("not granted");
        byBid[rejected].GetProperty("Outcome").GetString().ShouldBe("Lost");
        byBid[rejected].GetProperty("Reason").GetString()!.ShouldContain("rejected: bid 'bid-rejected': cpu 64000");
    }

    [Fact]
    public async Task The_readme_jq_example_selects_the_events_of_one_cycle()
    {
        using (var serilog = SystemLog.Create(LogPath))
        {
            using (Serilog.Context.LogContext.PushProperty(SystemLog.CycleProperty, 3L)) serilog.Information("In cycle {Marker}", "three");
            using (Serilog.Context.LogContext.PushProperty(SystemLog.CycleProperty, 4L)) serilog.Information("In cycle {Marker}", "four");
        }
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "README.md"));
        var example = System.Text.RegularExpressions.Regex.Match(readme, @"`(jq [^`]*system\*\.log)`");
        example.Success.ShouldBeTrue("README.md must show the jq example for system.log");
        var filter = System.Text.RegularExpressions.Regex.Match(example.Groups[1].Value, "'([^']*)'").Groups[1].Value;
        filter.ShouldBe("select(.Properties.Cycle == 3)");

        var jq = new ProcessStartInfo("jq") { RedirectStandardOutput = true, RedirectStandardError = true };
        jq.ArgumentList.Add("-c");
        jq.ArgumentList.Add(filter);
        // The README's glob, expanded as the shell would: every file of the rolled sequence.
        foreach (var file in SystemLog.Files(LogPath)) jq.ArgumentList.Add(file);
        Process? process;
        try { process = Process.Start(jq); }
        catch (System.ComponentModel.Win32Exception) when (Environment.GetEnvironmentVariable("CI") != "true")
        {
            // Without jq (outside CI), the filter is checked by what it selects instead: the same predicate in C#.
            Events().Where(e => e.GetProperty("Properties").TryGetProperty("Cycle", out var c) && c.GetInt64() == 3)
                .Select(e => e.GetProperty("Properties").GetProperty("Marker").GetString()).ShouldBe(["three"]);
            return;
        }
        using (process)
        {
            var output = await process!.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            process.ExitCode.ShouldBe(0, await process.StandardError.ReadToEndAsync());
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines.ShouldHaveSingleItem();
            JsonDocument.Parse(lines[0]).RootElement.GetProperty("Properties").GetProperty("Marker").GetString().ShouldBe("three");
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CyAgents.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("CyAgents.sln not found above the test folder");
    }
}
