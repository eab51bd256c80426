using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>Records to wire types. Enums travel as their names.</summary>
internal static class WireMapping
{
    public static BidResponse ToWire(this BidRecord b) => new(b.Id, b.AgentId, b.Cycle,
        b.Bundle.ToWire(), b.Amount, b.Status.ToString(),
        b.Payment, b.EscrowTransferId, b.CreatedAt);

    public static AgentResponse ToWire(this AgentRecord a) =>
        new(a.Id, a.Name, a.ParentId, a.RootId, a.Generation, a.CreatedCycle, a.Status.ToString(), a.CreatedAt);

    public static PromptResponse ToWire(this PromptRecord p) => new(p.Id, p.AgentId, p.ExecutionId, p.Cycle, p.Question, p.Answer,
        p.Reward, p.Status.ToString(), p.CreatedAt, p.AnsweredAt, p.Attention);

    public static CycleResponse ToWire(this CycleRecord c) => new(c.Number, c.Status.ToString(), c.Mechanism, c.BidCount,
        c.WinnerCount, c.Welfare, c.Revenue, c.InvariantHeld, c.StartedAt, c.EndedAt);

    public static ExecutionResponse ToWire(this ExecutionRecord e) => new(e.Id, e.AgentId, e.Cycle, e.BidId, e.Status.ToString(),
        e.ExitCode, e.Granted.ToWire(), e.TokensUsed,
        e.StartedAt, e.EndedAt);

    public static TransactionDto ToWire(this Transfer t) => new(t.Id, t.Sequence, t.Kind.ToString(), t.State.ToString(),
        t.DebitAccountId, t.CreditAccountId, t.Amount, t.Cycle, t.Memo, t.PendingId, t.PostedAmount);
}
