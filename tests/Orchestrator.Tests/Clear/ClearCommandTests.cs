using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text.Json;
using CyAgents.Economy.Clearing;
using CyAgents.Orchestrator.Commands;

namespace CyAgents.Orchestrator.Tests.Clear;

/// <summary>The <c>clear</c> verb run in-process through its parse/invoke entry, as the program runs it.</summary>
public sealed class ClearCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cyagents-clear-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const string HandInstance = """
        {
          "supply": { "cpu": 1000, "memory": 1000 },
          "bids": [
            { "id": "A", "agent": "a", "bundle": { "cpu": 500 }, "amount": 50 },
            { "id": "B", "agent": "b", "bundle": { "cpu": 500, "memory": 500 }, "amount": 75 },
            { "id": "C", "agent": "c", "bundle": { "memory": 500 }, "amount": 30 },
            { "id": "D", "agent": "d", "bundle": { "cpu": 250, "memory": 250 }, "amount": 40 },
            { "id": "E", "agent": "e", "bundle": { "cpu": 500, "memory": 500 }, "amount": 60 }
          ]
        }
        """;

    private string File(string json)
    {
        var path = Path.Combine(_folder, $"bids-{Guid.NewGuid():N}.json");
        System.IO.File.WriteAllText(path, json);
        return path;
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var root = new RootCommand { ClearCommand.Create() };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = root.Parse(["clear", .. args]).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void A_good_file_prints_the_clearing_as_json_with_winners_and_payments()
    {
        var (exit, stdout, stderr) = Run("--bids", File(HandInstance), "--mechanism", "critical-value");

        exit.ShouldBe(0, stderr);
        stderr.ShouldBeEmpty();
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        root.GetProperty("mechanism").GetString().ShouldBe("critical-value");
        root.GetProperty("welfare").GetInt64().ShouldBe(155);
        root.GetProperty("revenue").GetInt64().ShouldBe(103);
        root.GetProperty("winners").EnumerateArray().Select(w => (w.GetProperty("id").GetString(), w.GetProperty("payment").GetInt64()))
            .ShouldBe([("B", 60L), ("A", 43L), ("C", 0L)]);
        root.GetProperty("losers").EnumerateArray().Select(l => l.GetString()).ShouldBe(["E", "D"]);
        root.GetProperty("utilization").GetProperty("cpu").GetDouble().ShouldBe(1);
        root.EnumerateObject().Select(p => p.Name).ShouldBe(
            ["mechanism", "seed", "supply", "prices", "allocated", "utilization", "welfare", "revenue", "winnerCount", "loserCount", "winners", "losers"]);
    }

    [Fact]
    public void The_same_input_prints_the_same_bytes()
    {
        var path = File(HandInstance);
        Run("--bids", path, "--mechanism", "lottery", "--seed", "42").Stdout
            .ShouldBe(Run("--bids", path, "--mechanism", "lottery", "--seed", "42").Stdout);
    }

    [Fact]
    public void Command_line_supply_and_prices_override_the_file_kind_by_kind()
    {
        // cpu comes from the command line (2000), memory from the file (1000). Costs at cpu 0.08, memory 0.04:
        // A 40, B 60, C 20, D 30, E 60; by surplus B (15), then A, D, C (10 each, larger amount first), E (0).
        // B -> (1500,500), A -> (1000,500), D -> (750,250); C needs 500 memory: loses; E loses.
        var (exit, stdout, stderr) = Run("--bids", File(HandInstance), "--mechanism", "posted-price",
            "--supply", "cpu=2000", "--prices", "cpu=0.08,memory=0.04");
        exit.ShouldBe(0, stderr);
        using var json = JsonDocument.Parse(stdout);
        json.RootElement.GetProperty("supply").GetProperty("cpu").GetInt64().ShouldBe(2000);
        json.RootElement.GetProperty("supply").GetProperty("memory").GetInt64().ShouldBe(1000);
        json.RootElement.GetProperty("prices").GetProperty("cpu").GetDouble().ShouldBe(0.08);
        json.RootElement.GetProperty("winners").EnumerateArray().Select(w => w.GetProperty("payment").GetInt64()).ShouldBe([60L, 40L, 30L]);
    }

    [Fact]
    public void A_bare_array_of_bids_works_with_supply_on_the_command_line()
    {
        var (exit, stdout, _) = Run("--bids", File("""[{ "id": "x", "agent": "a", "bundle": { "tokens": 10 }, "amount": 3 }]"""),
            "--mechanism", "first-price", "--supply", "tokens=10");
        exit.ShouldBe(0);
        JsonDocument.Parse(stdout).RootElement.GetProperty("welfare").GetInt64().ShouldBe(3);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "{ \"bids\": [", "not valid JSON:" },
        { "42", "$: expected an array of bids or an object with \"bids\", found the number 42" },
        { "{ \"supply\": { \"cpu\": 1 } }", "$: the \"bids\" array is missing" },
        { "{ \"supply\": { \"cpu\": 10 }, \"bids\": [], \"colour\": 1 }", "$: unknown field \"colour\" (expected supply, prices, bids)" },
        { "{ \"supply\": { \"cpu\": 10, \"gpu\": 1 }, \"bids\": [] }", "$.supply: unknown field \"gpu\" (expected cpu, memory, tokens, attention)" },
        { "{ \"supply\": { \"cpu\": 10 }, \"bids\": [{ \"id\": \"x\", \"agent\": \"a\", \"bundle\": { \"cpu\": -1 }, \"amount\": 3 }] }", "$.bids[0].bundle.cpu: must not be negative (got -1)" },
        { "{ \"supply\": { \"cpu\": 10 }, \"bids\": [{ \"id\": \"x\", \"agent\": \"a\", \"bundle\": { \"cpu\": 1 }, \"amount\": 2.5 }] }", "$.bids[0].amount: expected a whole number, found the number 2.5" },
        { "{ \"supply\": { \"cpu\": 10 }, \"bids\": [{ \"id\": \"x\", \"agent\": \"a\", \"bundle\": { \"cpu\": 1 } }] }", "$.bids[0]: \"amount\" is missing" },
        { "{ \"supply\": { \"cpu\": 10 }, \"bids\": [{ \"id\": \"x\", \"agent\": \"a\", \"bundle\": { \"cpu\": 1 }, \"amount\": 1, \"amount\": 2 }] }", "$.bids[0]: field \"amount\" appears twice" },
        { "{ \"supply\": { \"cpu\": 10 }, \"bids\": [{ \"id\": \"x\", \"agent\": \"a\", \"bundle\": { \"cpu\": 11 }, \"amount\": 3 }] }", "bid 'x': cpu 11 millicores exceeds the supply of 10 millicores" },
        { "{ \"supply\": { \"cpu\": 10 }, \"bids\": [{ \"id\": \"x\", \"agent\": \"a\", \"bundle\": { \"cpu\": 1 }, \"amount\": 0 }] }", "bid 'x': amount must be a positive number of credits (got 0)" },
        { "[{ \"id\": \"x\", \"agent\": \"a\", \"bundle\": { \"cpu\": 1 }, \"amount\": 1 }]", "no supply given" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_file_exits_2_with_one_line_saying_what_is_wrong(string content, string expected)
    {
        var (exit, stdout, stderr) = Run("--bids", File(content), "--mechanism", "first-price");

        exit.ShouldBe(2);
        stdout.ShouldBeEmpty();
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(1, stderr);
        lines[0].ShouldStartWith("cyagents clear: ");
        lines[0].ShouldContain(expected);
    }

    public static TheoryData<string[], string> BadOptions => new()
    {
        { ["--mechanism", "vickrey"], "cyagents clear: unknown mechanism 'vickrey' (known: first-price, critical-value, posted-price, lottery, optimal, vcg, drf, proportional, uniform-price)" },
        { ["--mechanism", "lottery", "--seed", "-3"], "cyagents clear: --seed must be a whole number from 0 to 18446744073709551615 (got '-3')" },
        { ["--mechanism", "first-price", "--supply", "cpu=-5"], "cyagents clear: --supply: cpu must be a whole, non-negative number (got '-5')" },
        { ["--mechanism", "first-price", "--supply", "gpu=5"], "cyagents clear: --supply: unknown resource 'gpu' (expected cpu, memory, tokens, attention)" },
        { ["--mechanism", "posted-price", "--prices", "cpu=abc"], "cyagents clear: --prices: cpu must be a non-negative number (got 'abc')" },
        { ["--mechanism", "first-price", "--supply", "cpu=100"], "cyagents clear: bid 'A': cpu 500 millicores exceeds the supply of 100 millicores (and 3 more problems)" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_option_values_exit_2_with_one_line(string[] options, string expected)
    {
        var (exit, stdout, stderr) = Run(["--bids", File(HandInstance), .. options]);
        exit.ShouldBe(2);
        stdout.ShouldBeEmpty();
        stderr.TrimEnd().ShouldBe(expected);
    }

    [Fact]
    public void A_missing_file_or_option_exits_2_with_one_line()
    {
        Run("--bids", Path.Combine(_folder, "absent.json"), "--mechanism", "lottery").Stderr.TrimEnd()
            .ShouldBe($"cyagents clear: bid file '{Path.Combine(_folder, "absent.json")}' does not exist");
        var (exit, _, stderr) = Run("--mechanism", "lottery");
        exit.ShouldBe(2);
        stderr.TrimEnd().ShouldBe("cyagents clear: --bids FILE is required (see cyagents clear --help)");
        Run("--bids", File(HandInstance)).Stderr.TrimEnd()
            .ShouldBe("cyagents clear: --mechanism NAME is required: first-price, critical-value, posted-price, lottery, optimal, vcg, drf, proportional, uniform-price");
    }

    [Fact]
    public void Optimal_refuses_a_file_too_large_for_it_with_one_line()
    {
        var bids = string.Join(",", Enumerable.Range(0, 41).Select(i => $$"""{ "id": "b{{i}}", "agent": "a", "bundle": { "cpu": 1 }, "amount": 1 }"""));
        var (exit, _, stderr) = Run("--bids", File($$"""{ "supply": { "cpu": 100 }, "bids": [{{bids}}] }"""), "--mechanism", "optimal");
        exit.ShouldBe(2);
        stderr.TrimEnd().ShouldBe("cyagents clear: optimal clears at most 40 bids exactly (got 41); use it on small instances only");
    }

    [Fact]
    public void Help_explains_the_options_with_an_example()
    {
        var (exit, stdout, _) = Run("--help");
        exit.ShouldBe(0);
        stdout.ShouldContain("--mechanism <NAME>");
        stdout.ShouldContain("first-price, critical-value, posted-price, lottery, optimal, vcg, drf, proportional, uniform-price");
        stdout.ShouldContain("cyagents clear --bids docs/examples/bids.json --mechanism critical-value");
    }

    [Fact]
    public void The_documented_example_file_clears()
    {
        var example = Path.Combine(RepositoryRoot(), "docs", "examples", "bids.json");
        System.IO.File.Exists(example).ShouldBeTrue(example);
        foreach (var mechanism in ClearingMechanisms.Names)
            Run("--bids", example, "--mechanism", mechanism).ExitCode.ShouldBe(0, mechanism);
    }

    // Build output may live outside the repository (CYAGENTS_ARTIFACTS), so start from this source file instead.
    private static string RepositoryRoot([CallerFilePath] string thisFile = "")
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(thisFile)!);
        while (dir is not null && !System.IO.File.Exists(Path.Combine(dir.FullName, "CyAgents.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("CyAgents.sln not found above " + thisFile);
    }
}
