using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace CyAgents.SystemApi.Workspaces.History;

/// <summary>git failed, timed out, or is not installed.</summary>
public sealed class GitException(string message) : IOException(message);

/// <summary>
/// Runs git against one git directory only, never a work tree (ADR 0108): <c>GIT_DIR</c> names the repository, every other
/// <c>GIT_*</c> variable of this process is dropped, system and global configuration are off, HOME and XDG_CONFIG_HOME point
/// at an empty host folder, hooks go to /dev/null and automatic gc is off so a run does bounded, synchronous work. Nothing
/// an agent writes is ever read by git as configuration, attributes, ignore rules or hooks: git sees only what the host feeds it.
/// </summary>
public sealed class GitProcess(string program, string emptyHome, TimeSpan timeout)
{
    private static readonly string[] SafetyConfig =
    [
        "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "gc.auto=0", "-c", "maintenance.auto=false",
        "-c", "core.quotePath=true", "-c", "protocol.allow=never", "-c", "protocol.file.allow=always",
    ];

    /// <summary>The program run.</summary>
    public string Program => program;

    /// <summary>git's version line, or null when the program cannot be started (not installed).</summary>
    public async Task<string?> VersionAsync(CancellationToken ct = default)
    {
        try { return (await RunAsync(null, ["--version"], null, ct)).Trim(); }
        catch (GitException) { return null; }
    }

    /// <summary>
    /// Runs <c>git args</c> with <paramref name="gitDir"/> as its repository, feeding <paramref name="input"/> to its stdin
    /// (when given) and returning its stdout. A non-zero exit or the timeout throws <see cref="GitException"/>.
    /// </summary>
    public async Task<string> RunAsync(string? gitDir, IReadOnlyList<string> args, Func<Stream, Task>? input, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
            // A folder no agent can write: git never looks for a repository from here (GIT_DIR is explicit anyway).
            WorkingDirectory = emptyHome,
        };
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("GIT_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        if (gitDir is not null) psi.Environment["GIT_DIR"] = gitDir;
        psi.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        psi.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        psi.Environment["GIT_ATTR_NOSYSTEM"] = "1";
        psi.Environment["GIT_TERMINAL_PROMPT"] = "0";
        psi.Environment["HOME"] = emptyHome;
        psi.Environment["XDG_CONFIG_HOME"] = emptyHome;
        psi.Environment["LC_ALL"] = "C";
        foreach (var a in SafetyConfig) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);

        Process process;
        try { process = Process.Start(psi) ?? throw new GitException($"cannot start {program}"); }
        catch (Win32Exception e) { throw new GitException($"cannot start {program}: {e.Message}"); }
        using (process)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
            var stderr = process.StandardError.ReadToEndAsync(limit.Token);
            try
            {
                if (input is not null) await input(process.StandardInput.BaseStream);
                process.StandardInput.Close();
                await process.WaitForExitAsync(limit.Token);
                var output = await stdout;
                if (process.ExitCode != 0)
                    throw new GitException($"git {string.Join(' ', args.Take(2))} failed ({process.ExitCode}): {FirstLine(await stderr)}");
                return output;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                Kill(process);
                throw new GitException($"git {string.Join(' ', args.Take(2))} did not finish within {timeout.TotalSeconds:F0} s and was killed");
            }
            catch (IOException e) when (e is not GitException)
            {
                // Its stdin closed early: git stopped on its own; say why.
                Kill(process);
                await process.WaitForExitAsync(CancellationToken.None);
                throw new GitException($"git {string.Join(' ', args.Take(2))} stopped reading its input: {FirstLine(await stderr)}");
            }
            catch
            {
                Kill(process);
                throw;
            }
        }
    }

    private static void Kill(Process process)
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* exited meanwhile */ }
    }

    private static string FirstLine(string text) => text.Trim().Split('\n')[0].Trim();
}
