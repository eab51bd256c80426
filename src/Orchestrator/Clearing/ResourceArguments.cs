using System.Globalization;
using CyAgents.Economy.Resources;

namespace CyAgents.Orchestrator.Clearing;

/// <summary>Parses <c>cpu=4000,memory=8192</c> style command-line lists of per-kind values.</summary>
public static class ResourceArguments
{
    /// <summary>Whole, non-negative quantities per kind (for <c>--supply</c>).</summary>
    public static IReadOnlyDictionary<ResourceKind, long> ParseQuantities(string text, string option) =>
        Parse(text, option, (kind, raw) =>
            long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var q)
                ? q
                : throw new BidFileException($"{option}: {kind.WireName()} must be a whole, non-negative number (got '{raw}')"));

    /// <summary>Non-negative prices per kind, in credits per unit (for <c>--prices</c>).</summary>
    public static IReadOnlyDictionary<ResourceKind, double> ParsePrices(string text, string option) =>
        Parse(text, option, (kind, raw) =>
            double.TryParse(raw, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var p) && double.IsFinite(p)
                ? p
                : throw new BidFileException($"{option}: {kind.WireName()} must be a non-negative number (got '{raw}')"));

    private static Dictionary<ResourceKind, T> Parse<T>(string text, string option, Func<ResourceKind, string, T> parseValue)
    {
        var result = new Dictionary<ResourceKind, T>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pieces = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pieces.Length != 2 || pieces[1].Length == 0)
                throw new BidFileException($"{option}: expected kind=value pairs such as cpu=4000,memory=8192 (got '{part}')");
            if (!ResourceKinds.TryParse(pieces[0], out var kind))
                throw new BidFileException($"{option}: unknown resource '{pieces[0]}' (expected cpu, memory, tokens, attention)");
            if (!result.TryAdd(kind, parseValue(kind, pieces[1])))
                throw new BidFileException($"{option}: {kind.WireName()} is given twice");
        }
        if (result.Count == 0)
            throw new BidFileException($"{option}: expected kind=value pairs such as cpu=4000,memory=8192");
        return result;
    }
}
