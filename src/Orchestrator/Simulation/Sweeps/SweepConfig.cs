using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyAgents.Economy.Clearing;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Simulation.Sweeps;

/// <summary>One parameter setting of a sweep cell, as given in the config (value kept as canonical JSON text).</summary>
public sealed record SweepParameter(string Name, string Value);

/// <summary>A cell of a sweep: one combination of parameters, run once per seed.</summary>
/// <param name="Index">Position in the plan (0-based), the order of every output.</param>
/// <param name="Parameters">The settings that define the cell, in config order.</param>
/// <param name="Scenario">The scenario with the cell's overrides applied.</param>
/// <param name="ScenarioText">The scenario file text after the overrides (part of every run's key).</param>
public sealed record SweepCell(int Index, IReadOnlyList<SweepParameter> Parameters, Scenario Scenario, string ScenarioText,
    string Mechanism, int Agents, int Cycles)
{
    public string Label => Parameters.Count == 0 ? "base" : string.Join(" ", Parameters.Select(p => $"{p.Name}={p.Value}"));
}

/// <summary>One run of a sweep: a cell under one seed; <see cref="Key"/> names its result file.</summary>
public sealed record SweepRun(SweepCell Cell, int Seed)
{
    /// <summary>Hash of everything that decides the run's output, so a changed config never reuses a stale result.</summary>
    public string Key
    {
        get
        {
            var text = string.Join("\n", Cell.ScenarioText, Cell.Mechanism, Cell.Agents.ToString(CultureInfo.InvariantCulture),
                Cell.Cycles.ToString(CultureInfo.InvariantCulture), Seed.ToString(CultureInfo.InvariantCulture), Cell.Label);
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
            return $"cell{Cell.Index:D3}-seed{Seed}-{hash}";
        }
    }
}

/// <summary>
/// A sweep config (JSON, format in docs/simulator.md): a scenario, a grid or a list of parameter settings, and
/// seeds. Parameters are <c>mechanism</c>, <c>agents</c>, <c>cycles</c>, or any field of the scenario file by
/// its dotted path (<c>market.supply_ratio</c>, <c>population.generated.strategy_mix</c>,
/// <c>market.pricing.eta</c>, <c>market.initial_prices</c>, ...). Each cell's scenario is re-read by the strict
/// scenario reader, so a bad value fails before any run, with one line.
/// </summary>
public sealed record SweepConfig(string Name, IReadOnlyList<string> ParameterNames, IReadOnlyList<SweepCell> Cells, IReadOnlyList<int> Seeds)
{
    private const string Kind = "sweep config";
    public const int MaxRuns = 100_000;

    public IReadOnlyList<SweepRun> Runs => Cells.SelectMany(c => Seeds.Select(s => new SweepRun(c, s))).ToList();

    public static SweepConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new ScenarioFileException($"{Kind} {path}: not found");
        if (new FileInfo(path).Length > ScenarioFile.MaxBytes)
            throw new ScenarioFileException($"{Kind} {path}: larger than {ScenarioFile.MaxBytes} bytes");
        return Parse(File.ReadAllText(path), Path.GetFileName(path), Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static SweepConfig Parse(string json, string source, string baseDirectory)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new ScenarioFileException($"{Kind} {source}: must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ScenarioFileException($"{Kind} {source}: not valid JSON ({ex.Message.Split('\n')[0].Trim()})");
        }
        var config = new ScenarioJson(source, "", JsonSerializer.SerializeToElement(root), Kind);
        var name = config.RequiredString("name");
        var scenarioName = config.String("scenario");
        var scenarioFile = config.String("scenario_file");
        if ((scenarioName is null) == (scenarioFile is null))
            throw config.Fail("needs exactly one of scenario (a built-in name) or scenario_file (a path, relative to the config)");
        string scenarioText;
        if (scenarioName is not null)
            scenarioText = ScenarioCatalog.TextOf(scenarioName)
                ?? throw config.Fail("scenario", $"unknown scenario '{scenarioName}'; known: {string.Join(", ", ScenarioCatalog.BuiltInNames)}");
        else
        {
            var full = Path.GetFullPath(Path.Combine(baseDirectory, scenarioFile!));
            if (!File.Exists(full))
                throw config.Fail("scenario_file", $"{full} not found");
            scenarioText = File.ReadAllText(full);
        }
        var baseScenario = ScenarioFile.Parse(scenarioText, scenarioName ?? Path.GetFileName(scenarioFile!));
        var agents = (int)(config.Integer("agents", 1, 1_000_000) ?? baseScenario.DefaultAgents);
        var cycles = (int)(config.Integer("cycles", 1, 1_000_000) ?? baseScenario.DefaultCycles);
        var mechanism = config.String("mechanism") ?? baseScenario.DefaultMechanisms[0];
        var seeds = ReadSeeds(config);

        var settings = new List<List<(string Name, JsonNode? Value)>>();
        var names = new List<string>();
        var grid = config.Raw("grid");
        var list = config.Raw("cells");
        if (grid is not null && list is not null)
            throw config.Fail("give a grid or a list of cells, not both");
        if (grid is { } g)
        {
            if (g.ValueKind != JsonValueKind.Object)
                throw config.Fail("grid", "must be an object of parameter: [values]");
            settings.Add([]);
            foreach (var axis in g.EnumerateObject())
            {
                if (axis.Value.ValueKind != JsonValueKind.Array || axis.Value.GetArrayLength() == 0)
                    throw config.Fail($"grid.{axis.Name}", "must be a non-empty array of values");
                if (names.Contains(axis.Name))
                    throw config.Fail($"grid.{axis.Name}", "appears twice");
                names.Add(axis.Name);
                var values = axis.Value.EnumerateArray().Select(v => JsonNode.Parse(v.GetRawText())).ToList();
                settings = settings.SelectMany(prefix => values.Select(v => prefix.Append((axis.Name, v)).ToList())).ToList();
            }
        }
        else if (list is { } l)
        {
            if (l.ValueKind != JsonValueKind.Array || l.GetArrayLength() == 0)
                throw config.Fail("cells", "must be a non-empty array of {parameter: value} objects");
            foreach (var (cell, i) in l.EnumerateArray().Select((c, i) => (c, i)))
            {
                if (cell.ValueKind != JsonValueKind.Object)
                    throw config.Fail($"cells[{i}]", "must be an object of parameter: value");
                var one = new List<(string, JsonNode?)>();
                foreach (var p in cell.EnumerateObject())
                {
                    if (!names.Contains(p.Name))
                        names.Add(p.Name);
                    one.Add((p.Name, JsonNode.Parse(p.Value.GetRawText())));
                }
                settings.Add(one);
            }
        }
        else
            settings.Add([]);
        config.EnsureAllRead();
        if (settings.Count * seeds.Count > MaxRuns)
            throw config.Fail($"plans {settings.Count * seeds.Count} runs; at most {MaxRuns}");

        var cells = new List<SweepCell>();
        foreach (var (cellSettings, index) in settings.Select((s, i) => (s, i)))
        {
            var where = grid is not null ? "grid" : list is not null ? $"cells[{index}]" : "";
            var scenarioNode = JsonNode.Parse(scenarioText)!.AsObject();
            var (cellMechanism, cellAgents, cellCycles) = (mechanism, agents, cycles);
            var parameters = new List<SweepParameter>();
            foreach (var (parameter, value) in cellSettings)
            {
                var text = value?.ToJsonString() ?? "null";
                parameters.Add(new SweepParameter(parameter, value is JsonValue v && v.TryGetValue<string>(out var s) ? s : text));
                switch (parameter)
                {
                    case "mechanism":
                        cellMechanism = value is JsonValue mv && mv.TryGetValue<string>(out var m) && ClearingMechanisms.TryCreate(m, out _)
                            ? m.Trim().ToLowerInvariant()
                            : throw config.Fail($"{where}.mechanism", $"unknown mechanism {text}; known: {string.Join(", ", ClearingMechanisms.Names)}");
                        break;
                    case "agents":
                        cellAgents = WholeNumber(value, config, $"{where}.agents", 1, 1_000_000);
                        break;
                    case "cycles":
                        cellCycles = WholeNumber(value, config, $"{where}.cycles", 1, 1_000_000);
                        break;
                    default:
                        Set(scenarioNode, parameter, value, config, where);
                        break;
                }
            }
            var cellText = scenarioNode.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            Scenario scenario;
            try
            {
                scenario = ScenarioFile.Parse(cellText, $"{source} {where} (cell {index})");
            }
            catch (ScenarioFileException ex)
            {
                throw new ScenarioFileException($"{Kind} {ex.Message["scenario file ".Length..]}");
            }
            if (cellAgents < scenario.MinimumAgents)
                throw config.Fail(where, $"cell {index} has {cellAgents} agents; scenario {scenario.Name} needs at least {scenario.MinimumAgents}");
            cells.Add(new SweepCell(index, parameters, scenario, cellText, cellMechanism, cellAgents, cellCycles));
        }
        return new SweepConfig(name, names, cells, seeds);
    }

    private static IReadOnlyList<int> ReadSeeds(ScenarioJson config)
    {
        if (config.Raw("seeds") is not { } e)
            throw config.Missing("seeds");
        if (e.ValueKind == JsonValueKind.Array)
        {
            var seeds = e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v
                : throw config.Fail("seeds", "must be whole numbers")).ToList();
            if (seeds.Count == 0 || seeds.Distinct().Count() != seeds.Count)
                throw config.Fail("seeds", "must list at least one seed, each once");
            return seeds;
        }
        var range = config.Object("seeds")!;
        var first = (int)(range.Integer("first", int.MinValue, int.MaxValue) ?? 1);
        var count = (int)(range.Integer("count", 1, 10_000) ?? throw range.Missing("count"));
        range.EnsureAllRead();
        return Enumerable.Range(0, count).Select(i => first + i).ToList();
    }

    private static int WholeNumber(JsonNode? value, ScenarioJson config, string where, int min, int max) =>
        value is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d >= min && d <= max
            ? (int)d
            : throw config.Fail(where, $"must be a whole number from {min} to {max} (got {value?.ToJsonString() ?? "null"})");

    /// <summary>Sets a field of the scenario file by its dotted path; only population.* and market.* may be swept.</summary>
    private static void Set(JsonObject scenario, string path, JsonNode? value, ScenarioJson config, string where)
    {
        var parts = path.Split('.');
        if (parts.Length < 2 || parts[0] is not ("population" or "market") || parts.Any(string.IsNullOrWhiteSpace))
            throw config.Fail($"{where}.{path}", "unknown parameter; sweep mechanism, agents, cycles, or a scenario field by its path (market.supply_ratio, population.generated.income_rate, ...)");
        var node = scenario;
        foreach (var part in parts[..^1])
        {
            if (node[part] is not JsonObject next)
            {
                next = new JsonObject();
                node[part] = next;
            }
            node = next;
        }
        node[parts[^1]] = value?.DeepClone();
    }
}
