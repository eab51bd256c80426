using System.Text.Json;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Resources;

namespace CyAgents.Orchestrator.Clearing;

/// <summary>A bid file or command-line argument that cannot be used; the message is one line for the CLI.</summary>
public sealed class BidFileException(string message) : Exception(message);

/// <summary>
/// What a bid file holds (docs/bid-file.md): the bids, and optionally per-kind supply and prices.
/// Kinds the file does not mention are absent from <see cref="Supply"/> and <see cref="Prices"/>.
/// </summary>
public sealed record BidFile(
    IReadOnlyList<Bid> Bids,
    IReadOnlyDictionary<ResourceKind, long> Supply,
    IReadOnlyDictionary<ResourceKind, double> Prices)
{
    private static readonly JsonDocumentOptions Strict = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>
    /// Parses a bid file: a JSON array of bids, or an object with <c>bids</c> and optional <c>supply</c> and
    /// <c>prices</c>. Strict: unknown or repeated fields, fractions or negatives where whole non-negative numbers
    /// belong, and missing fields are errors naming the JSON path.
    /// </summary>
    public static BidFile Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, Strict);
        }
        catch (JsonException e)
        {
            throw new BidFileException($"not valid JSON: {OneLine(e.Message)}");
        }
        using (document)
        {
            var root = document.RootElement;
            switch (root.ValueKind)
            {
                case JsonValueKind.Array:
                    return new BidFile(ParseBids(root, "$"), new Dictionary<ResourceKind, long>(), new Dictionary<ResourceKind, double>());
                case JsonValueKind.Object:
                    var fields = Fields(root, "$", ["supply", "prices", "bids"]);
                    if (!fields.TryGetValue("bids", out var bids))
                        throw new BidFileException("$: the \"bids\" array is missing");
                    return new BidFile(
                        ParseBids(bids, "$.bids"),
                        fields.TryGetValue("supply", out var supply) ? ParseQuantities(supply, "$.supply") : new Dictionary<ResourceKind, long>(),
                        fields.TryGetValue("prices", out var prices) ? ParsePrices(prices, "$.prices") : new Dictionary<ResourceKind, double>());
                default:
                    throw new BidFileException($"$: expected an array of bids or an object with \"bids\", found {Describe(root)}");
            }
        }
    }

    private static List<Bid> ParseBids(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array)
            throw new BidFileException($"{path}: expected an array of bids, found {Describe(array)}");
        var bids = new List<Bid>();
        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            var at = $"{path}[{index++}]";
            if (element.ValueKind != JsonValueKind.Object)
                throw new BidFileException($"{at}: expected a bid object, found {Describe(element)}");
            var fields = Fields(element, at, ["id", "agent", "bundle", "amount"]);
            var id = RequiredString(fields, "id", at);
            var agent = RequiredString(fields, "agent", at);
            if (!fields.TryGetValue("bundle", out var bundleElement))
                throw new BidFileException($"{at}: \"bundle\" is missing");
            var quantities = ParseQuantities(bundleElement, $"{at}.bundle");
            if (!fields.TryGetValue("amount", out var amountElement))
                throw new BidFileException($"{at}: \"amount\" is missing");
            var amount = WholeNumber(amountElement, $"{at}.amount");
            var bundle = ResourceBundle.Create(
                quantities.GetValueOrDefault(ResourceKind.Cpu), quantities.GetValueOrDefault(ResourceKind.Memory),
                quantities.GetValueOrDefault(ResourceKind.Tokens), quantities.GetValueOrDefault(ResourceKind.Attention));
            bids.Add(new Bid(id, agent, bundle, amount));
        }
        return bids;
    }

    private static Dictionary<ResourceKind, long> ParseQuantities(JsonElement element, string path)
    {
        var fields = Fields(element, path, ResourceKinds.All.Select(k => k.WireName()).ToArray());
        var result = new Dictionary<ResourceKind, long>();
        foreach (var (name, value) in fields)
        {
            ResourceKinds.TryParse(name, out var kind);
            var quantity = WholeNumber(value, $"{path}.{name}");
            if (quantity < 0)
                throw new BidFileException($"{path}.{name}: must not be negative (got {quantity})");
            result[kind] = quantity;
        }
        return result;
    }

    private static Dictionary<ResourceKind, double> ParsePrices(JsonElement element, string path)
    {
        var fields = Fields(element, path, ResourceKinds.All.Select(k => k.WireName()).ToArray());
        var result = new Dictionary<ResourceKind, double>();
        foreach (var (name, value) in fields)
        {
            ResourceKinds.TryParse(name, out var kind);
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var price) || !double.IsFinite(price) || price < 0)
                throw new BidFileException($"{path}.{name}: expected a non-negative number of credits per unit, found {Describe(value)}");
            result[kind] = price;
        }
        return result;
    }

    /// <summary>The fields of an object, refusing unknown and repeated names.</summary>
    private static Dictionary<string, JsonElement> Fields(JsonElement element, string path, string[] allowed)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new BidFileException($"{path}: expected an object, found {Describe(element)}");
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name, StringComparer.Ordinal))
                throw new BidFileException($"{path}: unknown field \"{property.Name}\" (expected {string.Join(", ", allowed)})");
            if (!fields.TryAdd(property.Name, property.Value))
                throw new BidFileException($"{path}: field \"{property.Name}\" appears twice");
        }
        return fields;
    }

    private static string RequiredString(Dictionary<string, JsonElement> fields, string name, string path)
    {
        if (!fields.TryGetValue(name, out var value))
            throw new BidFileException($"{path}: \"{name}\" is missing");
        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            throw new BidFileException($"{path}.{name}: expected a non-empty string, found {Describe(value)}");
        return value.GetString()!;
    }

    private static long WholeNumber(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw new BidFileException($"{path}: expected a whole number, found {Describe(value)}");

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string \"{Truncate(element.GetString() ?? "")}\"",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => "null",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";

    internal static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
