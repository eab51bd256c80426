using System.Globalization;
using System.Text.Json;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>A scenario file is wrong; the message is one line naming the file, the field and the problem.</summary>
public sealed class ScenarioFileException(string message) : Exception(message);

/// <summary>
/// One JSON object of a scenario file, read strictly: every field is looked up by name and checked for its type
/// and range, and <see cref="EnsureAllRead"/> refuses any field nobody asked for (a misspelt key must not be
/// silently ignored). Errors carry the field's path, e.g. <c>population.generated.endowment.shape</c>.
/// </summary>
internal sealed class ScenarioJson
{
    private readonly string _source;
    private readonly string _kind;
    private readonly Dictionary<string, JsonElement> _fields = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public ScenarioJson(string source, string path, JsonElement element, string kind = "scenario file")
    {
        _source = source;
        _kind = kind;
        Path = path;
        if (element.ValueKind != JsonValueKind.Object)
            throw new ScenarioFileException($"{kind} {source}: {(path.Length == 0 ? "" : path + ": ")}must be an object (got {Kind(element)})");
        foreach (var property in element.EnumerateObject())
        {
            if (!_fields.TryAdd(property.Name, property.Value))
                throw new ScenarioFileException($"{kind} {source}: {Join(path, property.Name)}: appears twice");
        }
    }

    public string Path { get; }

    public IReadOnlyCollection<string> Names => _fields.Keys;

    public bool Has(string name) => _fields.ContainsKey(name);

    public JsonElement? Raw(string name)
    {
        _read.Add(name);
        return _fields.TryGetValue(name, out var value) ? value : null;
    }

    public ScenarioJson? Object(string name) =>
        Raw(name) is { } e ? new ScenarioJson(_source, Join(Path, name), e, _kind) : null;

    public ScenarioJson RequiredObject(string name) => Object(name) ?? throw Missing(name);

    public IReadOnlyList<ScenarioJson> Objects(string name)
    {
        if (Raw(name) is not { } e)
            return [];
        if (e.ValueKind != JsonValueKind.Array)
            throw Fail(name, $"must be an array (got {Kind(e)})");
        return e.EnumerateArray().Select((item, i) => new ScenarioJson(_source, $"{Join(Path, name)}[{i}]", item, _kind)).ToList();
    }

    public string? String(string name)
    {
        if (Raw(name) is not { } e)
            return null;
        if (e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString()))
            throw Fail(name, $"must be a non-empty string (got {Kind(e)})");
        return e.GetString()!;
    }

    public string RequiredString(string name) => String(name) ?? throw Missing(name);

    public IReadOnlyList<string>? Strings(string name)
    {
        if (Raw(name) is not { } e)
            return null;
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0 ||
            e.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(x.GetString())))
            throw Fail(name, "must be a non-empty array of strings");
        return e.EnumerateArray().Select(x => x.GetString()!).ToList();
    }

    public bool? Bool(string name)
    {
        if (Raw(name) is not { } e)
            return null;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Fail(name, $"must be true or false (got {Kind(e)})"),
        };
    }

    /// <summary>A plain number in [min, max].</summary>
    public double? Number(string name, double min, double max, bool exclusiveMin = false)
    {
        if (Raw(name) is not { } e)
            return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out var value) || !double.IsFinite(value))
            throw Fail(name, $"must be a number (got {Kind(e)})");
        if (value < min || value > max || (exclusiveMin && value == min))
            throw Fail(name, $"must be {(exclusiveMin ? "above" : "at least")} {N(min)} and at most {N(max)} (got {N(value)})");
        return value;
    }

    /// <summary>A whole number in [min, max].</summary>
    public long? Integer(string name, long min, long max)
    {
        var value = Number(name, min, max);
        if (value is { } v && v != Math.Floor(v))
            throw Fail(name, $"must be a whole number (got {N(v)})");
        return value is { } w ? (long)w : null;
    }

    /// <summary>A number or a formula string over <paramref name="variables"/> (see <see cref="ScenarioExpression"/>).</summary>
    public ScenarioExpression? Expression(string name, string variables)
    {
        if (Raw(name) is not { } e)
            return null;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var value) && double.IsFinite(value))
            return ScenarioExpression.Constant(value);
        if (e.ValueKind != JsonValueKind.String)
            throw Fail(name, $"must be a number or a formula string (got {Kind(e)})");
        try
        {
            return ScenarioExpression.Parse(e.GetString()!, variables);
        }
        catch (FormatException ex)
        {
            throw Fail(name, ex.Message);
        }
    }

    /// <summary>Refuses every field that was not read: a misspelt key is an error, not a default.</summary>
    public void EnsureAllRead()
    {
        var unknown = _fields.Keys.Where(k => !_read.Contains(k)).Order(StringComparer.Ordinal).FirstOrDefault();
        if (unknown is not null)
            throw Fail(unknown, "unknown field");
    }

    public ScenarioFileException Missing(string name) => FailAt(Join(Path, name), "is required");

    /// <summary>An error about the field <paramref name="name"/> of this object.</summary>
    public ScenarioFileException Fail(string name, string what) => FailAt(Join(Path, name), what);

    /// <summary>An error about this object as a whole.</summary>
    public ScenarioFileException Fail(string what) => FailAt(Path, what);

    private ScenarioFileException FailAt(string path, string what) =>
        new($"{_kind} {_source}: {(path.Length == 0 ? "" : path + ": ")}{what}");

    public string Source => _source;

    internal static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string N(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}
