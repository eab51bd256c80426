using CyAgents.Economy.Ledger;
using CyAgents.Persistence;

namespace CyAgents.SystemApi.Hosting;

/// <summary>
/// Gives the ledger that works inside a unit of work's <see cref="CyAgentsDbContext"/>, so a ledger transfer joins the
/// caller's open transaction (a bid row and its escrow commit together or not at all).
/// </summary>
public delegate ILedger LedgerBinding(CyAgentsDbContext db);
