using CyAgents.Economy.Ledger;

namespace CyAgents.SystemApi.Hosting;

/// <summary>
/// The ledger used when the host registers no <see cref="LedgerBinding"/>.
/// Interim: one process-wide <see cref="InMemoryLedger"/> until the EF Core ledger is available; it does not join the
/// database transaction and does not survive a restart.
/// </summary>
internal static class DefaultLedger
{
    public static LedgerBinding Binding(IServiceProvider services)
    {
        var ledger = new InMemoryLedger();
        return _ => ledger;
    }
}
