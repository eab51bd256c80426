namespace CyAgents.Orchestrator.Cycles;

/// <summary>The stages of a cycle where a crash is tested (ADR 0086); the names say what has happened just before.</summary>
public enum FaultPoint
{
    /// <summary>Entry bids placed; the cycle record not yet written.</summary>
    BeforeFreeze,
    /// <summary>Bids frozen and the cycle record saved; nothing cleared yet.</summary>
    AfterFreeze,
    /// <summary>The settlement's ledger batch applied inside the settlement transaction, bid and execution records not yet saved.</summary>
    MidSettlement,
    /// <summary>Settlement committed; no execution launched.</summary>
    AfterSettlement,
    /// <summary>Every execution collected; host faults not yet repaired.</summary>
    AfterCollect,
    /// <summary>Host faults repaired; the cycle not yet completed.</summary>
    BeforeComplete,
}

/// <summary>
/// A seam the cycle calls at each <see cref="FaultPoint"/>. Production uses <see cref="FaultPoints.None"/>; the fault
/// harness throws there to stand for a <c>kill -9</c> at that moment.
/// </summary>
public interface IFaultPoints
{
    /// <summary>Called when the cycle reaches <paramref name="point"/>; may throw to simulate a crash.</summary>
    void Reached(FaultPoint point);
}

/// <summary>The production fault points: none.</summary>
public sealed class FaultPoints : IFaultPoints
{
    /// <summary>The no-op instance.</summary>
    public static readonly IFaultPoints None = new FaultPoints();

    private FaultPoints() { }

    /// <inheritdoc />
    public void Reached(FaultPoint point) { }
}
