using System.Diagnostics;
using CyAgents.Orchestrator.Commands;

namespace CyAgents.Orchestrator.Tests.Commands;

public sealed class RunCommandTests
{
    private static async Task<(int ExitCode, string Stderr)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cyagents.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stderr);
    }

    [Fact]
    public async Task A_missing_engine_is_one_line_that_says_to_run_ensure_docker_and_exit_code_3()
    {
        var data = Directory.CreateTempSubdirectory("cyagents-noengine-").FullName;

        var (exit, stderr) = await RunAsync("run", "--engine", "/nonexistent/docker.sock", "--data", data, "--cycles", "1");

        exit.ShouldBe(3);
        stderr.Trim().Split('\n').ShouldHaveSingleItem().ShouldContain("scripts/ensure-docker");
        Directory.EnumerateFileSystemEntries(data).ShouldBeEmpty(); // nothing was created
    }

    [Theory]
    [InlineData("--interval", "soon")]
    [InlineData("--window", "0s")]
    [InlineData("--mechanism", "auction-of-dreams")]
    [InlineData("--cycles", "0")]
    public async Task Bad_options_are_one_line_and_exit_code_2(string option, string value)
    {
        var (exit, stderr) = await RunAsync("run", option, value);

        exit.ShouldBe(2);
        stderr.Trim().Split('\n').ShouldHaveSingleItem().ShouldStartWith("cyagents run:");
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2000)]
    [InlineData("1m", 60_000)]
    [InlineData("00:00:03", 3000)]
    public void Durations_read_like_people_write_them(string text, double milliseconds)
    {
        RunCommand.TryDuration(text, out var value).ShouldBeTrue();
        value.TotalMilliseconds.ShouldBe(milliseconds);
    }
}
