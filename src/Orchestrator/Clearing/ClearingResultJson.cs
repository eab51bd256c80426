using System.Text;
using System.Text.Json;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Orchestrator.Clearing;

/// <summary>
/// Writes a clearing result as indented JSON with a fixed property order, so the same clearing always prints
/// the same bytes (diffable, scriptable).
/// </summary>
public static class ClearingResultJson
{
    /// <summary>The result, with the seed and prices it was cleared with, as JSON text.</summary>
    public static string Write(ClearingResult result, MarketPrices prices, ulong seed)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("mechanism", result.Mechanism);
            json.WriteNumber("seed", seed);
            WriteBundle(json, "supply", result.Supply);
            json.WriteStartObject("prices");
            foreach (var kind in ResourceKinds.All)
                json.WriteNumber(kind.WireName(), prices[kind]);
            json.WriteEndObject();
            WriteBundle(json, "allocated", result.Allocated);
            json.WriteStartObject("utilization");
            foreach (var kind in ResourceKinds.All)
                json.WriteNumber(kind.WireName(), Math.Round(result.Utilization(kind), 6));
            json.WriteEndObject();
            json.WriteNumber("welfare", result.Welfare);
            json.WriteNumber("revenue", result.Revenue);
            json.WriteNumber("winnerCount", result.Winners.Count);
            json.WriteNumber("loserCount", result.Losers.Count);
            json.WriteStartArray("winners");
            foreach (var w in result.Winners)
            {
                json.WriteStartObject();
                json.WriteString("id", w.BidId);
                json.WriteString("agent", w.AgentId);
                WriteBundle(json, "bundle", w.Bundle);
                json.WriteNumber("amount", w.Amount);
                json.WriteNumber("payment", w.Payment);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("losers");
            foreach (var id in result.Losers)
                json.WriteStringValue(id);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteBundle(Utf8JsonWriter json, string name, ResourceBundle bundle)
    {
        json.WriteStartObject(name);
        foreach (var kind in ResourceKinds.All)
            json.WriteNumber(kind.WireName(), bundle[kind]);
        json.WriteEndObject();
    }
}
