using System.Diagnostics;

namespace CyAgents.GenesisAgent;

/// <summary>
/// With <c>CYAGENTS_WAIT_FOR_DEBUGGER=1</c> (set by <c>run --debug-agent</c>) the agent pauses until a debugger
/// attaches through <c>docker exec</c>, so a breakpoint on the first line is reachable (ADR 0006).
/// </summary>
public static class DebuggerWait
{
    public static async Task WaitIfAskedAsync(TextWriter log, CancellationToken ct)
    {
        if (Environment.GetEnvironmentVariable("CYAGENTS_WAIT_FOR_DEBUGGER") != "1") return;
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("CYAGENTS_DEBUGGER_TIMEOUT_SECONDS"), out var s) && s > 0 ? s : 300;
        log.WriteLine($"waiting up to {seconds} s for a debugger to attach (pid {Environment.ProcessId}); " +
                      "in VS Code run \"Attach to agent container\"");
        log.Flush();
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!Debugger.IsAttached && DateTime.UtcNow < until)
            await Task.Delay(200, ct);
        log.WriteLine(Debugger.IsAttached ? "debugger attached" : "no debugger attached; going on");
    }
}
