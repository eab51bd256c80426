using System.CommandLine;
using CyAgents.SystemApi.Logging;

namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// The <c>audit</c> verb: <c>audit verify</c> checks system.log's hash chain (ADR 0112) and names the first broken line.
/// </summary>
public static class AuditCommand
{
    /// <summary>Exit code when the chain is broken.</summary>
    public const int Broken = ExitCodes.Failure;

    /// <summary>Builds the command with its subcommands and help text.</summary>
    public static Command Create()
    {
        var log = new Option<string>("--log")
        {
            Description = "The log to check: the first file of the rolled sequence (default data/system.log); its rolled files are checked too, oldest first.",
            HelpName = "PATH",
        };
        var verify = new Command("verify", """
            Check that system.log is as it was written: every line carries the hash of the line before it (across
            rolled files) and its own. Prints "intact: N lines" and exits 0, or names the first edited, removed or
            reordered line as FILE:LINE with what is wrong and exits 1.

            Example:
              cyagents audit verify --log data/system.log
            """)
        { log };
        verify.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(log) ?? "data/system.log";
            if (SystemLog.Files(path).Count == 0)
            {
                stderr.WriteLine($"cyagents audit verify: no log at {path}");
                return ExitCodes.Usage;
            }
            try
            {
                var finding = AuditVerifier.Verify(path);
                if (finding.Intact)
                {
                    stdout.WriteLine($"intact: {finding.Lines} lines");
                    return ExitCodes.Ok;
                }
                stderr.WriteLine($"cyagents audit verify: {finding.File}:{finding.LineNumber}: {finding.Problem}");
                return Broken;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"cyagents audit verify: {e.Message}");
                return ExitCodes.Failure;
            }
        });
        return new Command("audit", "Audit the system log: `audit verify` checks its hash chain (see `cyagents audit verify --help`).") { verify };
    }
}
