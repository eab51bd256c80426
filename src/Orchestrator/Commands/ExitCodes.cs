namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// The process exit codes of every <c>cyagents</c> verb, so scripts can tell a typo from a broken ledger.
/// The numbers are part of the CLI's contract (listed in the root <c>--help</c> and the README): never renumber,
/// only add. 3 keeps the number <c>run</c> used for a missing engine before the codes were named.
/// </summary>
public static class ExitCodes
{
    /// <summary>The verb did what was asked (also: <c>run</c> stopped by Ctrl+C after finishing its bookkeeping).</summary>
    public const int Ok = 0;

    /// <summary>The verb ran but did not succeed (e.g. <c>bench</c>: an execution failed).</summary>
    public const int Failure = 1;

    /// <summary>Bad arguments or a bad input file; nothing was done.</summary>
    public const int Usage = 2;

    /// <summary>The Docker engine cannot be reached (run <c>scripts/ensure-docker</c>).</summary>
    public const int EngineUnavailable = 3;

    /// <summary>A configuration setting is invalid; the message names the key.</summary>
    public const int Configuration = 4;

    /// <summary>The database cannot be used: unreachable, or its schema is newer than this build or cannot be upgraded.</summary>
    public const int Database = 5;

    /// <summary>The ledger's conservation check failed; the host stopped rather than move more credits.</summary>
    public const int LedgerBroken = 6;

    /// <summary>
    /// The data folder or the database refused a write (disk full, read-only, locked by another process); nothing was
    /// half-written and the next <c>run</c> resumes once the cause is gone.
    /// </summary>
    public const int StorageFailed = 7;

    /// <summary>The table printed by the root <c>--help</c> and copied into the README.</summary>
    public const string HelpText = """
        Exit codes:
          0  ok
          1  failure (the verb ran but did not succeed, e.g. a bench execution failed)
          2  usage: bad arguments or input file
          3  the Docker engine is unreachable (run scripts/ensure-docker)
          4  configuration: an invalid setting (the message names the key)
          5  database: unreachable, or its schema is newer than this CyAgents (upgrade CyAgents) or cannot be upgraded
          6  ledger broken: the conservation check failed and the host stopped
          7  storage failed: the data folder or database refused a write (full, read-only, locked); fix it and run again
        """;
}
