using System.Diagnostics;

namespace CyAgents.EndToEnd.Tests;

/// <summary>The `cyagents` program as a child process, for tests that kill it or pull the engine from under it.</summary>
internal static class OrchestratorProcess
{
    /// <summary>Starts `cyagents` with <paramref name="args"/>; stdout is drained, stderr kept for the failure message.</summary>
    public static Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = AppContext.BaseDirectory };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cyagents.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    /// <summary>Polls <paramref name="probe"/> until it finds something, the process exits early (an error), or 3 minutes pass.</summary>
    public static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, Process process) where T : class
    {
        var until = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < until)
        {
            if (process.HasExited) throw new InvalidOperationException($"the orchestrator exited early ({process.ExitCode}): {await process.StandardError.ReadToEndAsync()}");
            if (await probe() is { } found) return found;
            await Task.Delay(200);
        }
        throw new TimeoutException("the orchestrator never reached the state the test waits for");
    }
}
