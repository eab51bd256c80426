using System.Diagnostics;

namespace CyAgents.EndToEnd.Tests;

/// <summary>Runs Debian's <c>promtool</c> (installed by scripts/ensure-promtool); missing, the test fails rather than skips.</summary>
internal static class Promtool
{
    /// <summary><c>promtool check metrics</c> on <paramref name="exposition"/>: its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var start = new ProcessStartInfo("promtool")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("promtool is not installed: run scripts/ensure-promtool (scripts/test does)", e);
        }
        using (process)
        {
            await process.StandardInput.WriteAsync(exposition);
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
