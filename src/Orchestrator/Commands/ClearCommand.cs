using System.CommandLine;
using System.Globalization;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Cycles;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Clearing;

namespace CyAgents.Orchestrator.Commands;

/// <summary>
/// The <c>clear</c> verb: one clearing of a bid file, printed as JSON, for studying mechanisms offline.
/// Every error in the file or the option values is one line on stderr starting with <c>cyagents clear:</c> and
/// exit code 2 (a misspelt option is reported by the parser, with usage, as for every verb).
/// </summary>
public static class ClearCommand
{
    /// <summary>Exit code for bad input (file, options, bids).</summary>
    public const int BadInput = ExitCodes.Usage;

    /// <summary>Builds the command with its options and help text.</summary>
    public static Command Create()
    {
        // Values are taken as text and checked here, so every mistake gets the same one-line error and exit code.
        var bids = new Option<string>("--bids")
        {
            Description = "The bid file (JSON): an array of bids, or an object with \"bids\" and optional \"supply\" and \"prices\". See docs/bid-file.md.",
            HelpName = "FILE",
        };
        var mechanism = new Option<string>("--mechanism")
        {
            Description = $"The clearing mechanism: {string.Join(", ", ClearingMechanisms.Names)}. See docs/mechanisms.md.",
            HelpName = "NAME",
        };
        var supply = new Option<string>("--supply")
        {
            Description = "Supply per resource, overriding the file's for the kinds given: cpu (millicores), memory (MiB), tokens, attention (basis points).",
            HelpName = "cpu=N,memory=N,tokens=N,attention=N",
        };
        var prices = new Option<string>("--prices")
        {
            Description = "Posted prices in credits per unit, overriding the file's for the kinds given (used by posted-price). Default 0.",
            HelpName = "cpu=P,memory=P,tokens=P,attention=P",
        };
        var seed = new Option<string>("--seed")
        {
            Description = "Seed for the lottery (a whole number 0..2^64-1); the same seed gives the same draw. Default 0.",
            HelpName = "N",
        };

        var command = new Command("clear", """
            Clear one bid file with a mechanism and print the result as JSON on stdout:
            winners with bundles and payments, losers, allocated and utilization per resource, welfare and revenue.

            Example:
              cyagents clear --bids docs/examples/bids.json --mechanism critical-value
              cyagents clear --bids bids.json --mechanism posted-price --supply cpu=4000,memory=8192 --prices cpu=0.01,memory=0.005

            Errors (malformed file, unknown field or mechanism, a bid larger than the supply, ...) print one line on
            stderr starting with "cyagents clear:" and exit with code 2.
            """)
        {
            bids, mechanism, supply, prices, seed,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                var request = new ClearRequest(
                    parse.GetValue(bids) ?? throw new BidFileException("--bids FILE is required (see cyagents clear --help)"),
                    parse.GetValue(mechanism) ?? throw new BidFileException($"--mechanism NAME is required: {string.Join(", ", ClearingMechanisms.Names)}"),
                    parse.GetValue(supply), parse.GetValue(prices), parse.GetValue(seed));
                stdout.WriteLine(Run(request));
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is BidFileException or ClearingInputException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"cyagents clear: {BidFile.OneLine(e.Message)}");
                return BadInput;
            }
        });
        return command;
    }

    /// <summary>The options of one clearing, as given on the command line.</summary>
    public sealed record ClearRequest(string BidsPath, string Mechanism, string? Supply, string? Prices, string? Seed);

    /// <summary>Runs one clearing and returns its JSON; throws a one-line-message exception on bad input.</summary>
    public static string Run(ClearRequest request)
    {
        var (input, outcome) = Step(request);
        return ClearingResultJson.Write(outcome.Result, input.Prices, input.Seed);
    }

    /// <summary>
    /// Reads the request into the cycle step's input and runs the step live cycles and the simulator run
    /// (<see cref="CycleClearing"/>). Unlike a live cycle, <c>clear</c> refuses a bid file with an invalid bid instead of
    /// letting that bid lose, so a study never silently drops part of its input.
    /// </summary>
    internal static (CycleClearingInput Input, CycleClearingOutcome Outcome) Step(ClearRequest request)
    {
        if (!ClearingMechanisms.TryCreate(request.Mechanism, out var mechanism))
            throw new BidFileException($"unknown mechanism '{request.Mechanism}' (known: {string.Join(", ", ClearingMechanisms.Names)})");
        var seed = 0UL;
        if (request.Seed is not null && !ulong.TryParse(request.Seed, NumberStyles.None, CultureInfo.InvariantCulture, out seed))
            throw new BidFileException($"--seed must be a whole number from 0 to {ulong.MaxValue} (got '{request.Seed}')");
        var supplyOverride = request.Supply is null ? null : ResourceArguments.ParseQuantities(request.Supply, "--supply");
        var pricesOverride = request.Prices is null ? null : ResourceArguments.ParsePrices(request.Prices, "--prices");

        if (!File.Exists(request.BidsPath))
            throw new BidFileException($"bid file '{request.BidsPath}' does not exist");
        BidFile file;
        try
        {
            file = BidFile.Parse(File.ReadAllText(request.BidsPath));
        }
        catch (BidFileException e)
        {
            throw new BidFileException($"{request.BidsPath}: {e.Message}");
        }

        var supply = Merge(file.Supply, supplyOverride);
        if (supply.Count == 0)
            throw new BidFileException("no supply given: add a \"supply\" object to the bid file or pass --supply cpu=..,memory=..");
        var price = Merge(file.Prices, pricesOverride);
        var input = new ClearingInput(
            file.Bids,
            ResourceBundle.Create(supply.GetValueOrDefault(ResourceKind.Cpu), supply.GetValueOrDefault(ResourceKind.Memory),
                supply.GetValueOrDefault(ResourceKind.Tokens), supply.GetValueOrDefault(ResourceKind.Attention)),
            new MarketPrices(price.GetValueOrDefault(ResourceKind.Cpu), price.GetValueOrDefault(ResourceKind.Memory),
                price.GetValueOrDefault(ResourceKind.Tokens), price.GetValueOrDefault(ResourceKind.Attention)),
            seed);
        ClearingValidation.EnsureValid(input);
        var step = new CycleClearingInput(0, input.Bids, input.Supply, input.Prices, mechanism, Pricing: null, input.Seed);
        return (step, CycleClearing.Run(step));
    }

    private static Dictionary<ResourceKind, T> Merge<T>(IReadOnlyDictionary<ResourceKind, T> fromFile, IReadOnlyDictionary<ResourceKind, T>? fromCommandLine)
    {
        var merged = new Dictionary<ResourceKind, T>(fromFile);
        foreach (var (kind, value) in fromCommandLine ?? new Dictionary<ResourceKind, T>())
            merged[kind] = value;
        return merged;
    }
}
