using System.Diagnostics;
using CyAgents.Orchestrator.Commands;

namespace CyAgents.Orchestrator.Tests.Commands;

public sealed class RunCommandTests
{
    private static Task<(int ExitCode, string Stderr)> RunAsync(params string[] args) => RunWithAsync(new Dictionary<string, string>(), args);

    private static async Task<(int ExitCode, string Stderr)> RunWithAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var (key, value) in environment) psi.Environment[key] = value;
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
    [InlineData("Market__Pricing__Eta", "-1", "Market:Pricing:Eta")]
    [InlineData("Market__Pricing__Smoothing", "0", "Market:Pricing:Smoothing")]
    [InlineData("Live__Mechanism", "auction-of-dreams", "Live:Mechanism")]
    [InlineData("Live__Genesis__Endowment", "0", "Live:Genesis:Endowment")]
    [InlineData("Live__Capacity__ReserveMemoryMiB", "-5", "Live:Capacity:ReserveMemoryMiB")]
    [InlineData("Workspaces__QuotaMiB", "3", "Workspaces:QuotaMiB")]
    [InlineData("Workspaces__QuotaInodes", "0", "Workspaces:QuotaInodes")]
    [InlineData("SystemApi__MinBidMemoryMiB", "0", "SystemApi:MinBidMemoryMiB")]
    [InlineData("SystemApi__MaxRequestBodyBytes", "-1", "SystemApi:MaxRequestBodyBytes")]
    [InlineData("SystemApi__RateLimitPerSecond", "0", "SystemApi:RateLimitPerSecond")]
    [InlineData("Sandbox__UidRange__First", "1000", "Sandbox:UidRange:First")]
    [InlineData("Sandbox__UidRange__Count", "0", "Sandbox:UidRange:Count")]
    public async Task A_bad_setting_is_one_line_naming_its_key_and_the_configuration_exit_code_before_the_engine_is_asked(
        string variable, string value, string key)
    {
        var data = Directory.CreateTempSubdirectory("cyagents-badconfig-").FullName;

        // No engine listens there: reaching it would exit 3, so exit 4 shows validation ran first.
        var (exit, stderr) = await RunWithAsync(new Dictionary<string, string> { [variable] = value },
            "run", "--engine", "/nonexistent/docker.sock", "--data", data, "--cycles", "1");

        exit.ShouldBe(ExitCodes.Configuration);
        var line = stderr.Trim().Split('\n').ShouldHaveSingleItem();
        line.ShouldStartWith("cyagents run: invalid configuration:");
        line.ShouldContain(key);
        Directory.EnumerateFileSystemEntries(data).ShouldBeEmpty(); // nothing was created, not even the log
    }

    [Fact]
    public async Task A_command_line_option_wins_over_the_configuration()
    {
        var data = Directory.CreateTempSubdirectory("cyagents-override-").FullName;

        // The configured mechanism is unknown, but --mechanism replaces it: the run gets past validation to the engine.
        var (exit, stderr) = await RunWithAsync(new Dictionary<string, string> { ["Live__Mechanism"] = "auction-of-dreams" },
            "run", "--mechanism", "critical-value", "--engine", "/nonexistent/docker.sock", "--data", data, "--cycles", "1");

        exit.ShouldBe(ExitCodes.EngineUnavailable, stderr);
    }

    [Theory]
    [InlineData("--interval", "soon")]
    [InlineData("--window", "0s")]
    [InlineData("--mechanism", "auction-of-dreams")]
    [InlineData("--cycles", "0")]
    [InlineData("--reserve", "sometimes")]
    [InlineData("--starters", "-1")]
    [InlineData("--starters", "101")]
    [InlineData("--starter-endowment", "0")]
    public async Task Bad_options_are_one_line_and_exit_code_2(string option, string value)
    {
        var (exit, stderr) = await RunAsync("run", option, value);

        exit.ShouldBe(2);
        stderr.Trim().Split('\n').ShouldHaveSingleItem().ShouldStartWith("cyagents run:");
    }

    [Fact]
    public async Task Starters_from_a_folder_without_a_manifest_are_refused_in_one_line_before_anything_is_created()
    {
        var data = Directory.CreateTempSubdirectory("cyagents-starters-").FullName;
        var template = Directory.CreateTempSubdirectory("cyagents-no-manifest-").FullName;

        var (exit, stderr) = await RunAsync("run", "--starters", "2", "--starter-template", template, "--data", data,
            "--engine", "/nonexistent/docker.sock");

        exit.ShouldBe(ExitCodes.Usage);
        stderr.Trim().Split('\n').ShouldHaveSingleItem().ShouldStartWith($"cyagents run: --starter-template {template}: agent.json");
        Directory.EnumerateFileSystemEntries(data).ShouldBeEmpty();
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
