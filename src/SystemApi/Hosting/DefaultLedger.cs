using CyAgents.Economy.Ledger;
using CyAgents.Economy.Persistence;

namespace CyAgents.SystemApi.Hosting;

/// <summary>The ledger used when the host registers no <see cref="LedgerBinding"/>.</summary>
internal static class DefaultLedger
{
    public static LedgerBinding Binding(IServiceProvider services) =>
        _ => throw new InvalidOperationException("No ledger is registered: register a LedgerBinding before AddSystemApi.");
}
