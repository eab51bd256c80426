using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Retirement;
using CyAgents.Orchestrator.Tests.Cycles;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Retirement;

/// <summary>Bankrupt, idle agents retire before a clearing (ADR 0136): after N idle cycles and not before, never with a bid or income.</summary>
public sealed class AgentRetirementTests : IAsyncDisposable
{
    private static readonly ResourceBundle Small = ResourceBundle.Create(250, 96);
    // First-price: the winner pays its whole bid, so an all-in bid leaves the agent with nothing.
    private readonly CycleWorld _world = new(new LiveOptions { Mechanism = "first-price", ExecutionWindow = TimeSpan.FromSeconds(5) });
    private readonly ListLogger<AgentRetirement> _log = new();
    private readonly string _archiveRoot = Path.Combine(Path.GetTempPath(), $"cyagents-archive-{Guid.NewGuid():N}");

    public async ValueTask DisposeAsync()
    {
        await _world.DisposeAsync();
        if (Directory.Exists(_archiveRoot)) Directory.Delete(_archiveRoot, recursive: true);
    }

    private AgentRetirement Step(int idleCycles = 3, long dust = 0) => new(_world.Databases, _ => _world.Ledger,
        new RetirementOptions { IdleCycles = idleCycles, DustCredits = dust }, new WorkspaceArchive(_world.Workspaces, _archiveRoot),
        TimeProvider.System, _log);

    private Task<AgentStatus> StatusAsync(string agentId) =>
        _world.QueryAsync(db => db.Set<AgentRecord>().Where(a => a.Id == agentId).Select(a => a.Status).SingleAsync());

    private Task<List<EventRecord>> RetiredEventsAsync() =>
        _world.QueryAsync(db => db.Set<EventRecord>().Where(e => e.Type == EventTypes.AgentRetired).ToListAsync());

    /// <summary>Agents that spend everything on bids that win in cycle 1 and ran there (so they have workspaces).</summary>
    private async Task SpendAllInCycleOneAsync(params string[] agentIds)
    {
        foreach (var agentId in agentIds)
        {
            await _world.AddAgentAsync(agentId, 10);
            await _world.BidAsync(agentId, 1, Small, 10);
        }
        await _world.Cycle.RunAsync(1, CancellationToken.None);
        foreach (var agentId in agentIds)
            (await _world.Ledger.GetBalanceAsync(AccountIds.ForAgent(agentId))).Available.ShouldBe(0);
    }

    [Fact]
    public async Task An_idle_bankrupt_agent_retires_after_the_idle_cycles_and_not_before_and_its_workspace_is_archived()
    {
        await SpendAllInCycleOneAsync("spender");
        var workspace = _world.Workspaces.PathOf("spender");
        Directory.Exists(workspace).ShouldBeTrue();
        await File.WriteAllTextAsync(Path.Combine(workspace, "notes.txt"), "my last words");
        var step = Step(idleCycles: 3);

        // Its bid was filed for cycle 1: cycles 2, 3 and 4 must pass idle.
        foreach (var cycle in new long[] { 2, 3, 4 })
        {
            await step.BeforeClearingAsync(cycle, CancellationToken.None);
            (await StatusAsync("spender")).ShouldBe(AgentStatus.Active, $"before cycle {cycle}");
        }
        (await RetiredEventsAsync()).ShouldBeEmpty();

        await step.BeforeClearingAsync(5, CancellationToken.None);

        (await StatusAsync("spender")).ShouldBe(AgentStatus.Retired);
        var retired = (await RetiredEventsAsync()).ShouldHaveSingleItem();
        retired.AgentId.ShouldBe("spender");
        retired.Cycle.ShouldBe(5);
        retired.Data.ShouldContain("bankrupt and idle");
        _log.Lines.ShouldContain(l => l.Message.Contains("Agent spender retired before cycle 5"));
        Directory.Exists(workspace).ShouldBeFalse();
        var archived = Path.Combine(_archiveRoot, "spender");
        (await File.ReadAllTextAsync(Path.Combine(archived, "notes.txt"))).ShouldBe("my last words");

        // Idempotent: the same cycle again retires and archives nothing more.
        await step.BeforeClearingAsync(5, CancellationToken.None);
        (await RetiredEventsAsync()).Count.ShouldBe(1);
        Directory.Exists(archived).ShouldBeTrue();
    }

    [Fact]
    public async Task A_retired_agent_gets_no_entry_bid_and_runs_no_more()
    {
        await _world.AddAgentAsync("newcomer", 1);
        await _world.Ledger.TransferAsync(new TransferRequest("newcomer:gone", AccountIds.ForAgent("newcomer"), AccountIds.Treasury, 1,
            TransferKind.Adjustment, 0));
        await Step(idleCycles: 2).BeforeClearingAsync(3, CancellationToken.None);
        (await StatusAsync("newcomer")).ShouldBe(AgentStatus.Retired);

        await _world.Cycle.RunAsync(3, CancellationToken.None);

        _world.Sandbox.Requests.ShouldNotContain(r => r.AgentId == "newcomer");
        (await _world.QueryAsync(db => db.Set<BidRecord>().CountAsync(b => b.AgentId == "newcomer"))).ShouldBe(0);
    }

    [Fact]
    public async Task An_agent_with_an_open_bid_does_not_retire_even_with_nothing_available()
    {
        await _world.AddAgentAsync("hopeful", 10);
        await _world.BidAsync("hopeful", 9, Small, 10); // all of it escrowed: 0 available, but the bid is open
        (await _world.Ledger.GetBalanceAsync(AccountIds.ForAgent("hopeful"))).Available.ShouldBe(0);

        await Step(idleCycles: 3).BeforeClearingAsync(8, CancellationToken.None);

        (await StatusAsync("hopeful")).ShouldBe(AgentStatus.Active);
        (await RetiredEventsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Income_in_the_window_keeps_an_agent_but_a_refund_is_not_income()
    {
        await SpendAllInCycleOneAsync("earner", "refunded");
        // A reward of 5 in cycle 3 (still "no credits" with 5 dust); a refund of 5 to the other in cycle 3.
        await _world.Ledger.TransferAsync(new TransferRequest("prompt:p1:reward", AccountIds.Treasury, AccountIds.ForAgent("earner"), 5,
            TransferKind.HumanReward, 3));
        await _world.Ledger.TransferAsync(new TransferRequest("fix:1", AccountIds.Treasury, AccountIds.ForAgent("refunded"), 5,
            TransferKind.Refund, 3));
        var step = Step(idleCycles: 3, dust: 5);

        await step.BeforeClearingAsync(5, CancellationToken.None);

        (await StatusAsync("earner")).ShouldBe(AgentStatus.Active, "its reward was filed under cycle 3, inside the window 2..4");
        (await StatusAsync("refunded")).ShouldBe(AgentStatus.Retired, "a refund returns its own credits; it is not income");

        await step.BeforeClearingAsync(6, CancellationToken.None);
        (await StatusAsync("earner")).ShouldBe(AgentStatus.Active);
        await step.BeforeClearingAsync(7, CancellationToken.None);
        (await StatusAsync("earner")).ShouldBe(AgentStatus.Retired, "window 4..6 holds no income");
    }

    [Fact]
    public async Task An_agent_with_credits_is_never_retired_and_zero_idle_cycles_turns_retirement_off()
    {
        await _world.AddAgentAsync("saver", 500);
        await SpendAllInCycleOneAsync("broke");

        await Step(idleCycles: 3).BeforeClearingAsync(50, CancellationToken.None);
        (await StatusAsync("saver")).ShouldBe(AgentStatus.Active);
        await Step(idleCycles: 0).BeforeClearingAsync(60, CancellationToken.None);
        (await StatusAsync("broke")).ShouldBe(AgentStatus.Retired, "retired by the first step, before cycle 50");
        (await RetiredEventsAsync()).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_hostile_workspace_is_archived_by_one_rename_that_follows_no_link_and_opens_no_file()
    {
        await SpendAllInCycleOneAsync("mallory");
        var workspace = _world.Workspaces.PathOf("mallory");
        var outside = Path.Combine(Path.GetTempPath(), $"cyagents-outside-{Guid.NewGuid():N}");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret"), "host file");
        try
        {
            // What an agent can leave behind: links out of its workspace, a FIFO that blocks whoever opens it, a deep tree.
            File.CreateSymbolicLink(Path.Combine(workspace, "escape"), outside);
            File.CreateSymbolicLink(Path.Combine(workspace, "passwd"), "/etc/passwd");
            var fifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(workspace, "trap"))!;
            await fifo.WaitForExitAsync();
            var deep = workspace;
            for (var i = 0; i < 200; i++) deep = Path.Combine(deep, "d");
            Directory.CreateDirectory(deep);

            await Step(idleCycles: 1).BeforeClearingAsync(3, CancellationToken.None);

            var archived = Path.Combine(_archiveRoot, "mallory");
            Directory.Exists(workspace).ShouldBeFalse();
            new FileInfo(Path.Combine(archived, "escape")).LinkTarget.ShouldBe(outside);
            new FileInfo(Path.Combine(archived, "trap")).Exists.ShouldBeTrue();
            (await File.ReadAllTextAsync(Path.Combine(outside, "secret"))).ShouldBe("host file");
            File.Exists("/etc/passwd").ShouldBeTrue();
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_workspace_that_is_a_link_is_not_archived_and_what_it_points_to_is_left_alone()
    {
        await SpendAllInCycleOneAsync("linker");
        var workspace = _world.Workspaces.PathOf("linker");
        var elsewhere = Path.Combine(Path.GetTempPath(), $"cyagents-elsewhere-{Guid.NewGuid():N}");
        Directory.Move(workspace, elsewhere);
        File.CreateSymbolicLink(workspace, elsewhere);
        try
        {
            await Step(idleCycles: 1).BeforeClearingAsync(3, CancellationToken.None);

            (await StatusAsync("linker")).ShouldBe(AgentStatus.Retired);
            new FileInfo(workspace).LinkTarget.ShouldBe(elsewhere);
            Directory.Exists(elsewhere).ShouldBeTrue();
            Directory.Exists(Path.Combine(_archiveRoot, "linker")).ShouldBeFalse();
            _log.Lines.ShouldContain(l => l.Message.Contains("was not archived") && l.Message.Contains("symbolic link"));
        }
        finally
        {
            File.Delete(workspace);
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}
