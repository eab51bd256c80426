using CyAgents.Orchestrator.Attention;
using CyAgents.Orchestrator.Tests.Cycles;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Attention;

/// <summary>Unanswered prompts expire before a clearing after the configured cycles (ADR 0135); answered ones are left alone.</summary>
public sealed class PromptExpiryTests : IAsyncDisposable
{
    private readonly CycleWorld _world = new();

    public ValueTask DisposeAsync() => _world.DisposeAsync();

    private PromptExpiry Step(int cycles) =>
        new(_world.Databases, new PromptExpiryOptions { ExpireAfterCycles = cycles }, TimeProvider.System, new ListLogger<PromptExpiry>());

    private async Task AskAsync(string id, long cycle, PromptStatus status = PromptStatus.Pending)
    {
        await using var db = await _world.Databases.CreateDbContextAsync();
        db.Add(new PromptRecord
        {
            Id = id, AgentId = "alice", ExecutionId = $"exe-{cycle}", Cycle = cycle, Question = "?", Attention = 200, Status = status,
            CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
    }

    private Task<Dictionary<string, PromptStatus>> StatusesAsync() =>
        _world.QueryAsync(db => db.Set<PromptRecord>().ToDictionaryAsync(p => p.Id, p => p.Status));

    [Fact]
    public async Task A_prompt_stays_answerable_for_the_configured_cycles_then_expires_once_with_an_event()
    {
        await AskAsync("prm-3", 3);
        await AskAsync("prm-4", 4);
        await AskAsync("prm-answered", 1, PromptStatus.Answered);
        var step = Step(cycles: 2);

        await step.BeforeClearingAsync(5, CancellationToken.None); // asked in 3: cycles 4 and 5 still to answer it
        (await StatusesAsync())["prm-3"].ShouldBe(PromptStatus.Pending);

        await step.BeforeClearingAsync(6, CancellationToken.None);

        var statuses = await StatusesAsync();
        statuses["prm-3"].ShouldBe(PromptStatus.Expired);
        statuses["prm-4"].ShouldBe(PromptStatus.Pending);
        statuses["prm-answered"].ShouldBe(PromptStatus.Answered);
        var expired = await _world.QueryAsync(db => db.Set<PromptRecord>().SingleAsync(p => p.Id == "prm-3"));
        expired.ExpiredCycle.ShouldBe(6);
        expired.Attention.ShouldBe(200, "the attention it cost stays spent");
        var events = await _world.QueryAsync(db => db.Set<EventRecord>().Where(e => e.Type == EventTypes.PromptExpired).ToListAsync());
        var only = events.ShouldHaveSingleItem();
        only.AgentId.ShouldBe("alice");
        only.Cycle.ShouldBe(6);
        only.Data.ShouldContain("prm-3");

        await step.BeforeClearingAsync(6, CancellationToken.None);
        (await _world.QueryAsync(db => db.Set<EventRecord>().CountAsync(e => e.Type == EventTypes.PromptExpired))).ShouldBe(1);
    }

    [Fact]
    public async Task More_prompts_than_one_batch_all_expire()
    {
        await using (var db = await _world.Databases.CreateDbContextAsync())
        {
            for (var i = 0; i < 1_203; i++)
                db.Add(new PromptRecord { Id = $"prm-{i:D5}", AgentId = "alice", Cycle = 1, Question = "?", CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }

        await Step(cycles: 1).BeforeClearingAsync(3, CancellationToken.None);

        (await _world.QueryAsync(db => db.Set<PromptRecord>().CountAsync(p => p.Status == PromptStatus.Expired))).ShouldBe(1_203);
    }
}
