using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Commands;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// After three real cycles on the real engine: <c>audit agent</c> tells what Genesis bid, won, paid, earned and spent (checked
/// against the ledger and the bids table), <c>audit verify</c> matches the checkpoints the cycles stored, and every shell
/// example of README.md and docs/*.md that can run here runs as written against that run (issue 13).
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class AuditAndExamplesTests(DockerFixture docker)
{
    private static (int Exit, string Out, string Err) Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = new RootCommand { AuditCommand.Create() }.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Audit_agent_and_the_documented_examples_answer_from_a_real_run()
    {
        // The folder looks like a checkout after `run`: data/ of the run, and the repository's src and docs beside it, so
        // relative paths in the examples (data/..., docs/examples/...) mean what they mean to a user in the repository.
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "examples-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var repository = AgentImage.FindSourceRoot();
        Directory.CreateSymbolicLink(Path.Combine(root, "src"), Path.Combine(repository, "src"));
        Directory.CreateSymbolicLink(Path.Combine(root, "docs"), Path.Combine(repository, "docs"));
        var port = Live.FreePort();
        var settings = Live.Settings(root) with { ApiUrls = $"http://127.0.0.1:{port}" };
        await using var economy = await LiveEconomy.StartAsync(settings);
        (await economy.RunCyclesAsync(3, TimeSpan.Zero)).Count.ShouldBe(3);
        var genesis = settings.Live!.Genesis.AgentId;
        var db = settings.Database;
        var log = settings.Log;

        await AuditAgentMatchesTheLedgerAsync(settings, genesis, db, log);

        // The cycles stored checkpoints (one at each cycle's end at least), and the untouched log matches them.
        var verified = Cli("audit", "verify", "--log", log, "--db", db);
        verified.Err.ShouldBeEmpty();
        verified.Exit.ShouldBe(0);
        verified.Out.ShouldMatch(@"^intact: \d+ lines, (\d+) of \1 checkpoints matched\s*$");
        int.Parse(Regex.Match(verified.Out, @"(\d+) of").Groups[1].Value).ShouldBeGreaterThanOrEqualTo(3);

        await DocumentedExamplesRunAsync(root, repository, port);
    }

    private static async Task AuditAgentMatchesTheLedgerAsync(LiveSettings settings, string genesis, string db, string log)
    {
        var json = Cli("audit", "agent", genesis, "--db", db, "--log", log, "--json");
        json.Err.ShouldBeEmpty();
        json.Exit.ShouldBe(0);
        var report = JsonDocument.Parse(json.Out).RootElement;

        await using var context = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        var ledger = new EfLedger(context);
        var balance = await ledger.GetBalanceAsync(AccountIds.ForAgent(genesis));
        report.GetProperty("balance").GetProperty("posted").GetInt64().ShouldBe(balance.Posted);
        report.GetProperty("balance").GetProperty("available").GetInt64().ShouldBe(balance.Available);

        var bids = await context.Set<BidRecord>().Where(b => b.AgentId == genesis).ToListAsync();
        var cycles = report.GetProperty("cycles").EnumerateArray().ToList();
        var reported = cycles.SelectMany(c => c.GetProperty("bids").EnumerateArray()).ToList();
        reported.Select(b => b.GetProperty("id").GetString()).Order().ShouldBe(bids.Select(b => b.Id).Order());
        // Cycle 1: Genesis's entry bid won, with its payment and the mechanism's reason from the settlement line.
        var won = reported.Where(b => b.GetProperty("outcome").GetString() == "won").ToList();
        won.ShouldNotBeEmpty();
        foreach (var b in won)
        {
            b.GetProperty("payment").GetInt64().ShouldBe(bids.Single(x => x.Id == b.GetProperty("id").GetString()).Payment!.Value);
            b.GetProperty("reason").GetString().ShouldNotBeNullOrWhiteSpace();
        }
        cycles.SelectMany(c => c.GetProperty("executions").EnumerateArray()).Select(e => e.GetProperty("status").GetString())
            .ShouldContain("succeeded");
        // Each cycle's balance moves by what it earned minus what it spent; the cycles chain up to the balance now.
        long last = 0;
        foreach (var c in cycles)
        {
            var earned = c.GetProperty("earned").EnumerateObject().Sum(p => p.Value.GetInt64());
            var spent = c.GetProperty("spent").EnumerateObject().Sum(p => p.Value.GetInt64());
            (c.GetProperty("balanceAfter").GetInt64() - c.GetProperty("balanceBefore").GetInt64()).ShouldBe(earned - spent);
            last = c.GetProperty("balanceAfter").GetInt64();
        }
        last.ShouldBe(balance.Posted);
        // What a cycle spent on bids is what its won bids paid (a sole bidder may pay nothing: then no bidPayment at all).
        foreach (var c in cycles.Where(c => c.GetProperty("cycle").ValueKind == JsonValueKind.Number))
        {
            var paid = bids.Where(b => b.Cycle == c.GetProperty("cycle").GetInt64() && b.Payment is not null).Sum(b => b.Payment!.Value);
            (c.GetProperty("spent").TryGetProperty("bidPayment", out var p) ? p.GetInt64() : 0).ShouldBe(paid);
        }

        // The text form, one cycle: a header with the balance, the cycle's bid with its outcome and reason.
        var text = Cli("audit", "agent", genesis, "--cycle", "1", "--db", db, "--log", log);
        text.Exit.ShouldBe(0);
        text.Out.ShouldStartWith($"agent {genesis} (generation 0): posted {balance.Posted}, reserved {balance.Reserved}");
        text.Out.ShouldContain("\ncycle 1: balance ");
        text.Out.ShouldMatch(@"  bid \S+: \d+ credits for \d+m CPU, \d+ MiB, \d+ tokens, \d+ bp attention -> won, paid \d+; \S");
        text.Out.ShouldNotContain("\ncycle 2:");

        // Refusals: one line, exit 2, nothing else printed.
        var unknown = Cli("audit", "agent", "nobody", "--db", db, "--log", log);
        (unknown.Exit, unknown.Out, unknown.Err.Trim()).ShouldBe((ExitCodes.Usage, "", $"cyagents audit agent: no agent 'nobody' in {db}."));
        var future = Cli("audit", "agent", genesis, "--cycle", "99", "--db", db, "--log", log);
        (future.Exit, future.Err.Trim()).ShouldBe((ExitCodes.Usage, "cyagents audit agent: cycle 99 has not been reached (the run is at cycle 3)."));
        var zero = Cli("audit", "agent", genesis, "--cycle", "0", "--db", db);
        zero.Exit.ShouldBe(ExitCodes.Usage);
        zero.Err.Trim().ShouldBe("cyagents audit agent: --cycle must be a cycle number (1 or more), not 0.");
    }

    // ---- README and docs examples ----

    /// <summary>Examples this test does not run, each with the reason; an example matching neither list fails the test.</summary>
    private static readonly (Regex Pattern, string Why)[] NotRunHere =
    [
        (new(@"^scripts/"), "starts Docker, PostgreSQL or every test, or a run: this test is such a run"),
        (new(@"^\.ci/"), "CI itself"),
        (new(@"bench/|--project bench|-- bench\b|simulate --bench"), "benchmarks are run and quoted by hand, not in CI"),
        (new(@"--project src/SystemApi"), "a second, standalone API host"),
        (new(@"^cyagents run\b(?!.*--help)"), "starts an economy: this test runs one"),
        (new(@"^cyagents sweep\b"), "a sweep runs for minutes"),
        (new(@"^cyagents images build\b"), "builds runtime images (minutes); RuntimeImagesTests build them"),
        (new(@"^cyagents agents create\b(?!.*--help)"), "creates an agent from a template of the user's; AgentsCreate tests cover it"),
        (new(@"…|~/"), "a placeholder (an agent id or a folder of the user's)"),
        (new(@"^cp |^cat workspaces"), "copies or reads a template the user edits"),
        (new(@"\blogs/system"), "the standalone API's log (logs/), which a run does not write"),
        (new(@"^cyagents bench\b"), "a benchmark of the real engine, quoted by hand"),
        (new(@"^cyagents [a-z -]*:"), "an error message the docs show, not a command"),
        (new(@"^cyagents [a-z]+$"), "names a verb in prose"),
        (new(@"\b(ID|FILE|DIR|N)\b|\["), "a synopsis with placeholders"),
    ];

    private static readonly Regex Runnable = new(@"^(cyagents|jq|grep|curl) ");

    /// <summary>Shell commands of the user-facing docs: fenced bash (or untagged) blocks and inline spans that start with a command.</summary>
    internal static IEnumerable<(string File, string Command)> Examples(string repository)
    {
        var files = new[] { Path.Combine(repository, "README.md") }.Concat(Directory.GetFiles(Path.Combine(repository, "docs"), "*.md").Order());
        var commandStart = new Regex(@"^(\$ )?(cyagents |jq |grep |curl |cat |cp |scripts/|\.ci/|dotnet run |bench/)");
        foreach (var file in files)
        {
            var name = Path.GetRelativePath(repository, file);
            var fenced = false;
            var shell = false;
            var pending = "";
            foreach (var raw in File.ReadAllLines(file))
            {
                if (raw.StartsWith("```", StringComparison.Ordinal))
                {
                    fenced = !fenced;
                    shell = fenced && raw.Trim() is "```" or "```bash" or "```sh";
                    continue;
                }
                if (fenced)
                {
                    if (!shell) continue;
                    var line = pending + raw.Trim();
                    if (line.EndsWith('\\')) { pending = line[..^1] + " "; continue; }
                    pending = "";
                    line = Regex.Replace(line, @"\s+#\s.*$", "").Trim();
                    if (line.StartsWith("$ ", StringComparison.Ordinal)) line = line[2..];
                    if (commandStart.IsMatch(line)) yield return (name, Normalize(line));
                    continue;
                }
                foreach (Match span in Regex.Matches(raw, "`([^`]+)`"))
                    if (commandStart.IsMatch(span.Groups[1].Value)) yield return (name, Normalize(span.Groups[1].Value));
            }
        }
    }

    /// <summary>The CLI as the docs spell it two ways (<c>dotnet run --project src/Orchestrator [-c Release] --</c> or <c>cyagents</c>): one form.</summary>
    private static string Normalize(string command) =>
        Regex.Replace(command.Trim(), @"^dotnet run --project src/Orchestrator( -c Release)? -- ", "cyagents ");

    private static async Task DocumentedExamplesRunAsync(string root, string repository, int port)
    {
        // `cyagents` on PATH: the CLI this test project built.
        var bin = Directory.CreateDirectory(Path.Combine(root, "bin")).FullName;
        var shim = Path.Combine(bin, "cyagents");
        await File.WriteAllTextAsync(shim, $"#!/bin/sh\nexec dotnet \"{Path.Combine(AppContext.BaseDirectory, "cyagents.dll")}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // "bids.json" in docs/bid-file.md is a bid file of the user's: the documented example file stands in for it.
        File.Copy(Path.Combine(repository, "docs", "examples", "bids.json"), Path.Combine(root, "bids.json"));

        var examples = Examples(repository).Distinct().ToList();
        examples.Count.ShouldBeGreaterThan(10);
        var unclassified = examples.Where(e => !Runnable.IsMatch(e.Command) && !NotRunHere.Any(n => n.Pattern.IsMatch(e.Command))).ToList();
        unclassified.ShouldBeEmpty("examples this test neither runs nor lists with a reason in NotRunHere");

        var run = examples.Where(e => Runnable.IsMatch(e.Command) && !NotRunHere.Any(n => n.Pattern.IsMatch(e.Command))).ToList();
        run.ShouldContain(e => e.Command.StartsWith("jq ", StringComparison.Ordinal));
        run.ShouldContain(e => e.Command.StartsWith("curl ", StringComparison.Ordinal) && e.Command.Contains("--unix-socket"));
        run.ShouldContain(e => e.Command.StartsWith("cyagents audit verify", StringComparison.Ordinal));
        run.ShouldContain(e => e.Command.StartsWith("cyagents audit agent", StringComparison.Ordinal));
        run.ShouldContain(e => e.Command.StartsWith("cyagents simulate", StringComparison.Ordinal));
        var failures = new List<string>();
        foreach (var (file, command) in run)
        {
            // The run listens on a free port and its socket is data/api/api.sock; the docs say 5080 and (standalone) system-api.sock.
            var script = command.Replace("127.0.0.1:5080", $"127.0.0.1:{port}", StringComparison.Ordinal)
                .Replace("data/api/system-api.sock", "data/api/api.sock", StringComparison.Ordinal);
            var streams = script.StartsWith("curl -N", StringComparison.Ordinal);
            if (streams) script = script.Replace("curl -N", "curl -N --max-time 3", StringComparison.Ordinal);
            var (exit, output, error) = await ShellAsync(root, bin, script);
            // curl -N follows the stream until --max-time (exit 28); what it printed must be events.
            // An example that prints nothing is broken too (the README's jq once matched no line), unless it writes to a file.
            var ok = streams ? exit == 28 && output.Contains("id: ", StringComparison.Ordinal)
                : exit == 0 && (output.Trim().Length > 0 || command.Contains(" > ", StringComparison.Ordinal));
            if (!ok) failures.Add($"{file}: `{command}` exited {exit}; stdout: {Head(output)}; stderr: {Head(error)}");
        }
        failures.ShouldBeEmpty();
    }

    private static string Head(string text) => text.Length <= 300 ? text.Trim() : text[..300].Trim() + "…";

    private static async Task<(int Exit, string Out, string Err)> ShellAsync(string cwd, string bin, string script)
    {
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("set -o pipefail; " + script);
        psi.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
