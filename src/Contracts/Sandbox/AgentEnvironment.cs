namespace CyAgents.Contracts.Sandbox;

/// <summary>
/// The context an execution starts with (camelCase JSON), written by the orchestrator before the container starts to a
/// file of that execution alone, outside the workspace, mounted read-only: its path inside the container is in the
/// environment variable <see cref="Variable"/> (<c>/run/cyagents-env/env.json</c>). It is the agent's only input besides
/// its workspace.
/// </summary>
public sealed record AgentEnvironment
{
    /// <summary>The file's name.</summary>
    public const string FileName = "env.json";
    /// <summary>The environment variable holding the file's path inside the container.</summary>
    public const string Variable = "CYAGENTS_ENV";
    /// <summary>The read-only folder holding the file inside the container.</summary>
    public const string ContainerFolder = "/run/cyagents-env";
    /// <summary>The file's path inside the container.</summary>
    public const string ContainerPath = ContainerFolder + "/" + FileName;

    /// <summary>The agent that runs.</summary>
    public required string AgentId { get; init; }
    /// <summary>This execution (also the container's label).</summary>
    public required string ExecutionId { get; init; }
    /// <summary>Bearer token for the System API; dies with the execution.</summary>
    public required string Token { get; init; }
    /// <summary>The cycle the agent won.</summary>
    public long Cycle { get; init; }
    /// <summary>The cycle new bids are for.</summary>
    public long NextCycle { get; init; }
    /// <summary>The bundle won, which is also the container's caps.</summary>
    public required ResourceBundleDto Bundle { get; init; }
    /// <summary>The agent's balance when the execution started.</summary>
    public required BalanceView Balance { get; init; }
    /// <summary>Unit prices in force, credits per unit.</summary>
    public required PricesView Prices { get; init; }
    /// <summary>The System API's unix socket, as seen inside the container.</summary>
    public required string ApiSocket { get; init; }
    /// <summary>When the execution window ends; the container is killed after it.</summary>
    public DateTimeOffset Deadline { get; init; }
}

/// <summary>A balance on the wire.</summary>
public sealed record BalanceView(long Posted, long Reserved, long Available);

/// <summary>Unit prices on the wire, credits per unit.</summary>
public sealed record PricesView(double Cpu, double Memory, double Tokens, double Attention)
{
    /// <summary>The posted cost of a bundle, rounded up to whole credits.</summary>
    public long CostOf(ResourceBundleDto b) =>
        (long)Math.Ceiling(Cpu * b.CpuMillicores + Memory * b.MemoryMiB + Tokens * b.Tokens + Attention * b.AttentionBasisPoints - 1e-9);
}
