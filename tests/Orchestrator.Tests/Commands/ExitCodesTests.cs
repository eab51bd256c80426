using System.Diagnostics;
using CyAgents.Orchestrator.Commands;

namespace CyAgents.Orchestrator.Tests.Commands;

public sealed class ExitCodesTests
{
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cyagents.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task The_root_help_lists_every_exit_code_with_its_meaning()
    {
        var (exit, stdout, _) = await RunAsync("--help");

        exit.ShouldBe(ExitCodes.Ok);
        stdout.ShouldContain("Exit codes:");
        foreach (var (code, word) in new[]
                 {
                     (ExitCodes.Ok, "ok"), (ExitCodes.Failure, "failure"), (ExitCodes.Usage, "usage"),
                     (ExitCodes.EngineUnavailable, "the Docker engine"), (ExitCodes.Configuration, "configuration"),
                     (ExitCodes.Database, "database"), (ExitCodes.LedgerBroken, "ledger broken"),
                     (ExitCodes.StorageFailed, "storage failed"),
                 })
            stdout.ShouldContain($"{code}  {word}");
    }

    [Fact]
    public void The_codes_are_distinct_and_keep_the_numbers_scripts_already_use()
    {
        int[] codes = [ExitCodes.Ok, ExitCodes.Failure, ExitCodes.Usage, ExitCodes.EngineUnavailable,
            ExitCodes.Configuration, ExitCodes.Database, ExitCodes.LedgerBroken, ExitCodes.StorageFailed];
        codes.Distinct().Count().ShouldBe(codes.Length);
        (ExitCodes.Ok, ExitCodes.Usage, ExitCodes.EngineUnavailable).ShouldBe((0, 2, 3));
    }

    [Fact]
    public async Task A_verb_given_a_bad_input_file_exits_with_the_usage_code()
    {
        var (exit, _, stderr) = await RunAsync("clear", "--bids", "/nonexistent/bids.json", "--mechanism", "critical-value");

        exit.ShouldBe(ExitCodes.Usage);
        stderr.Trim().Split('\n').ShouldHaveSingleItem().ShouldStartWith("cyagents clear:");
    }
}
