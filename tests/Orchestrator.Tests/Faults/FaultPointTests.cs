using Xunit.Abstractions;

namespace CyAgents.Orchestrator.Tests.Faults;

/// <summary>
/// Crashes at every stage of the live cycle, hundreds of times, each followed by a restart and an independent audit
/// (issue 15, item 2; ADR 0086). Seeded: a failure names its seed; replay with <c>CYAGENTS_FAULT_SEED</c>.
/// </summary>
public sealed class FaultPointTests(ITestOutputHelper output)
{
    private const int Scenarios = 8;
    private const int RoundsPerScenario = 39; // three times round every point

    private static int MasterSeed =>
        int.TryParse(Environment.GetEnvironmentVariable("CYAGENTS_FAULT_SEED"), out var seed) ? seed : 20261201;

    /// <summary>Runs one seeded scenario; returns the crash points that fired, or throws naming the seed and round.</summary>
    private static async Task<Dictionary<string, int>> ScenarioAsync(int seed, int rounds, bool brokenRecovery = false)
    {
        await using var harness = new FaultHarness(seed) { BrokenRecovery = brokenRecovery };
        var random = new Random(seed);
        await harness.BootstrapAsync();
        for (var round = 0; round < rounds; round++)
        {
            var point = FaultHarness.Points[round % FaultHarness.Points.Length];
            await harness.CrashAndRestartAsync(point, random);
            var problems = await LedgerAudit.RunAsync(harness.DatabasePath);
            if (problems.Count > 0)
                throw new FaultHarnessFailure(
                    $"seed {seed}, round {round}, crash armed at {point}: {problems.Count} problems after restart:\n  {string.Join("\n  ", problems.Take(10))}");
        }
        var bids = await harness.RunCleanCyclesAsync(3);
        if (bids.Any(b => b == 0))
            throw new FaultHarnessFailure($"seed {seed}: after the faults the economy stalled; bids per cycle {string.Join(",", bids)}");
        var final = await LedgerAudit.RunAsync(harness.DatabasePath);
        if (final.Count > 0) throw new FaultHarnessFailure($"seed {seed}, after the clean cycles: {string.Join("; ", final.Take(10))}");
        return harness.Fired;
    }

    [Fact]
    public async Task Hundreds_of_crashes_at_every_stage_leave_whole_books_and_an_economy_that_goes_on()
    {
        var fired = new Dictionary<string, int>();
        var scenarios = Enumerable.Range(0, Scenarios).Select(i => MasterSeed + i * 7919).ToList();
        foreach (var seed in scenarios)
            foreach (var (point, count) in await ScenarioAsync(seed, RoundsPerScenario))
                fired[point] = fired.GetValueOrDefault(point) + count;

        var total = fired.Values.Sum();
        output.WriteLine($"master seed {MasterSeed}: {total} crashes fired: {string.Join(", ", fired.OrderBy(p => p.Key))}");
        total.ShouldBeGreaterThanOrEqualTo(200, $"only {total} crashes fired (master seed {MasterSeed}): {string.Join(", ", fired)}");
        foreach (var point in FaultHarness.Points)
            fired.GetValueOrDefault(point).ShouldBeGreaterThan(0, $"no crash fired at {point} (master seed {MasterSeed})");
    }

    [Fact]
    public async Task A_recovery_that_skips_reopening_frozen_bids_is_caught()
    {
        var failure = await Should.ThrowAsync<FaultHarnessFailure>(() => ScenarioAsync(MasterSeed, FaultHarness.Points.Length, brokenRecovery: true));
        failure.Message.ShouldContain("frozen");
    }
}

public sealed class FaultHarnessFailure(string message) : Exception(message);
