using System.CommandLine;
using CyAgents.Orchestrator.Commands;

// The host program. Each verb lives in Commands/ and owns its options and help text.
var root = new RootCommand($"""
    CyAgents: a market economy for autonomous agents.
    Agents bid integer credits for CPU, memory, LLM tokens and human attention each allocation cycle;
    winners run in network-less Docker sandboxes and reach the host only through the System API.

    {ExitCodes.HelpText}
    """)
{
    RunCommand.Create(),
    AgentsCommand.Create(),
    TasksCommand.Create(),
    SimulateCommand.Create(),
    SweepCommand.Create(),
    ClearCommand.Create(),
    BenchCommand.Create(),
    AuditCommand.Create(),
    ImagesCommand.Create(),
};
// Ctrl+C cancels the running verb; `run` then finishes its cycle's bookkeeping, which may take several seconds.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) });
