using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Workspaces;

namespace CyAgents.SystemApi.Agents;

/// <summary>An <c>agent.json</c> was refused; the message is one line that names the field (docs/manifest.md).</summary>
public sealed class AgentManifestException(string field, string problem)
    : Exception(field.Length == 0 ? $"agent.json: {problem}" : $"agent.json: {field}: {problem}")
{
    /// <summary>The refused field as a JSON path (<c>command[2]</c>, <c>env.FOO</c>, <c>entryBid.bundle.memoryMiB</c>); empty for the whole file.</summary>
    public string Field { get; } = field;
}

/// <summary>The least entry-bid bundle a manifest may name: the API's bid minimums (SystemApi:MinBidCpuMillicores / MinBidMemoryMiB).</summary>
public sealed record ManifestMinimums(long CpuMillicores = 50, long MemoryMiB = 16)
{
    /// <summary>The API's defaults.</summary>
    public static ManifestMinimums Default { get; } = new();
}

/// <summary>
/// Reads <c>agent.json</c> strictly (the rules of <see cref="Hosting.StrictJson"/>: no duplicate or unknown property, no
/// number sent as a string) and checks every field, so a manifest is either exactly what docs/manifest.md describes or is
/// refused with one line naming the field. Also writes the canonical form stored with the agent
/// (<c>AgentRecord.ManifestJson</c>) and reads it back.
/// </summary>
public static partial class AgentManifestReader
{
    /// <summary>The template file's name.</summary>
    public const string FileName = "agent.json";
    /// <summary>Largest manifest read, in bytes.</summary>
    public const int MaxBytes = 16 * 1024;
    /// <summary>Most argv elements.</summary>
    public const int MaxCommandElements = 64;
    /// <summary>Longest argv element, in characters.</summary>
    public const int MaxCommandElementLength = 1024;
    /// <summary>Most environment variables.</summary>
    public const int MaxEnvEntries = 64;
    /// <summary>Longest environment variable name.</summary>
    public const int MaxEnvNameLength = 128;
    /// <summary>Longest environment variable value, in characters.</summary>
    public const int MaxEnvValueLength = 4096;
    /// <summary>Longest image reference (Docker's own limit on a reference).</summary>
    public const int MaxImageLength = 255;
    /// <summary>Largest entry bid: far beyond any endowment, so an amount near <see cref="long.MaxValue"/> never reaches the ledger.</summary>
    public const long MaxEntryBidAmount = 1_000_000_000_000;
    /// <summary>The prefix of the system's own variables, which always win and may not be set by a manifest.</summary>
    public const string ReservedEnvPrefix = "CYAGENTS_";
    /// <summary>Where the workspace is mounted in the container; the command's paths must stay inside it.</summary>
    public const string WorkspaceMount = "/workspace";

    /// <summary>What an agent without a stored manifest runs (agents made before manifests existed): the Genesis agent.</summary>
    public static AgentManifest GenesisDefault { get; } = new(RuntimeNames.Dotnet, null, ["/app/genesis-agent"],
        new Dictionary<string, string>(), null);

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 8, AllowDuplicateProperties = false,
    };

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    /// <summary>Reads <c>agent.json</c> from a template folder with the link-refusing, bounded file helpers (ADR 0070).</summary>
    public static AgentManifest ReadFolder(string folder, ManifestMinimums? minimums = null)
    {
        var path = Path.Combine(folder, FileName);
        byte[] bytes;
        try
        {
            using var stream = WorkspaceFiles.OpenRegularForRead(path);
            if (stream.Length > MaxBytes) throw new AgentManifestException("", $"has {stream.Length} bytes; at most {MaxBytes}");
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (UnsafeWorkspaceEntryException)
        {
            throw new AgentManifestException("", $"{path} is a link or a special file; it is not read");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentManifestException("", File.Exists(path) || Directory.Exists(path) ? $"cannot read {path}" : $"missing: there is no {path}");
        }
        return Read(bytes, minimums);
    }

    /// <summary>Reads and checks a manifest; throws <see cref="AgentManifestException"/> naming the first refused field.</summary>
    public static AgentManifest Read(ReadOnlySpan<byte> utf8, ManifestMinimums? minimums = null)
    {
        if (utf8.Length > MaxBytes) throw new AgentManifestException("", $"has {utf8.Length} bytes; at most {MaxBytes}");
        JsonDocument document;
        try { document = JsonDocument.Parse(utf8.ToArray(), DocumentOptions); }
        catch (JsonException e)
        {
            // The parser's message names the place; a duplicate property says so ("Duplicate property 'x'").
            throw new AgentManifestException("", $"not valid JSON: {OneLine(e.Message)}");
        }
        using (document) return Read(document.RootElement, minimums ?? ManifestMinimums.Default);
    }

    /// <summary>Reads the canonical form stored with an agent; null (an agent older than manifests) is <see cref="GenesisDefault"/>.</summary>
    public static AgentManifest FromStored(string? json) =>
        json is null ? GenesisDefault : Read(Encoding.UTF8.GetBytes(json), new ManifestMinimums(0, 0));

    /// <summary>The canonical JSON of a manifest (camelCase, env sorted by name), as stored with the agent.</summary>
    public static string Write(AgentManifest manifest)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            if (manifest.Runtime is not null) w.WriteString("runtime", manifest.Runtime);
            if (manifest.Image is not null) w.WriteString("image", manifest.Image);
            w.WriteStartArray("command");
            foreach (var arg in manifest.Command) w.WriteStringValue(arg);
            w.WriteEndArray();
            w.WriteStartObject("env");
            foreach (var (name, value) in manifest.Env.OrderBy(e => e.Key, StringComparer.Ordinal)) w.WriteString(name, value);
            w.WriteEndObject();
            if (manifest.EntryBid is { } bid)
            {
                w.WriteStartObject("entryBid");
                w.WriteNumber("amount", bid.Amount);
                w.WriteStartObject("bundle");
                w.WriteNumber("cpuMillicores", bid.Bundle.CpuMillicores);
                w.WriteNumber("memoryMiB", bid.Bundle.MemoryMiB);
                w.WriteNumber("tokens", bid.Bundle.Tokens);
                w.WriteNumber("attentionBasisPoints", bid.Bundle.AttentionBasisPoints);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            // Written only for a service, so every job manifest stored before kinds existed keeps its canonical form.
            if (manifest.Kind == AgentKind.Service) w.WriteString("kind", AgentKinds.Service);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static AgentManifest Read(JsonElement root, ManifestMinimums minimums)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new AgentManifestException("", "must be a JSON object");
        string? runtime = null, image = null;
        List<string>? command = null;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        EntryBid? entryBid = null;
        var kind = AgentKind.Job;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "runtime": runtime = String(property.Value, "runtime"); break;
                case "image": image = String(property.Value, "image"); break;
                case "command": command = Command(property.Value); break;
                case "env": env = Env(property.Value); break;
                case "entryBid": entryBid = property.Value.ValueKind == JsonValueKind.Null ? null : Bid(property.Value, minimums); break;
                case "kind": kind = KindNamed(String(property.Value, "kind")); break;
                default: throw Unknown("", property.Name, "runtime, image, command, env, entryBid, kind");
            }
        }
        if (runtime is not null && image is not null) throw new AgentManifestException("runtime", "give either runtime or image, not both");
        if (runtime is null && image is null) throw new AgentManifestException("runtime", $"is required (or image): one of {string.Join(", ", RuntimeNames.All)}");
        if (runtime is not null && !RuntimeNames.All.Contains(runtime, StringComparer.Ordinal))
            throw new AgentManifestException("runtime", $"unknown runtime '{Shown(runtime)}'; use one of {string.Join(", ", RuntimeNames.All)}");
        if (image is not null) CheckImage(image);
        if (command is null) throw new AgentManifestException("command", "is required: the program and its arguments, e.g. [\"python3\", \"agent.py\"]");
        return new AgentManifest(runtime, image, command, env, entryBid, kind);
    }

    private static AgentKind KindNamed(string name) => name switch
    {
        AgentKinds.Job => AgentKind.Job,
        AgentKinds.Service => AgentKind.Service,
        _ => throw new AgentManifestException("kind", $"unknown kind '{Shown(name)}'; use {AgentKinds.Job} or {AgentKinds.Service}"),
    };

    private static string String(JsonElement value, string field) => value.ValueKind == JsonValueKind.String
        ? value.GetString()!
        : throw new AgentManifestException(field, $"must be a string (got {Kind(value)})");

    private static List<string> Command(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array) throw new AgentManifestException("command", $"must be an array of strings (got {Kind(value)})");
        var count = value.GetArrayLength();
        if (count == 0) throw new AgentManifestException("command", "must not be empty: name the program to run");
        if (count > MaxCommandElements) throw new AgentManifestException("command", $"has {count} elements; at most {MaxCommandElements}");
        var argv = new List<string>(count);
        var i = 0;
        foreach (var element in value.EnumerateArray())
        {
            var field = $"command[{i}]";
            var arg = String(element, field);
            if (arg.Length > MaxCommandElementLength) throw new AgentManifestException(field, $"has {arg.Length} characters; at most {MaxCommandElementLength}");
            if (arg.Contains('\0')) throw new AgentManifestException(field, "contains a NUL character");
            if (i == 0 && arg.Length == 0) throw new AgentManifestException(field, "must name the program to run");
            if (OutsideWorkspace(arg, program: i == 0) is { } path)
                throw new AgentManifestException(field, $"the path '{Shown(path)}' is outside {WorkspaceMount} (see docs/manifest.md, \"Paths in command\")");
            argv.Add(arg);
            i++;
        }
        return argv;
    }

    /// <summary>
    /// The path rule (docs/manifest.md): the program (argv[0]) may be an absolute path — the runtime's own interpreter
    /// (<c>/usr/bin/python3</c>, <c>/app/genesis-agent</c>) — or a bare name; every other path the command names must resolve
    /// inside <c>/workspace</c>. An argument (or the value after <c>=</c> of an option such as <c>--config=/x</c>) that starts
    /// with <c>/</c> or <c>~</c> is a path; so is one with a <c>..</c> segment, resolved against <c>/workspace</c>, the
    /// working directory. Returns the offending path, or null.
    /// </summary>
    public static string? OutsideWorkspace(string arg, bool program)
    {
        foreach (var candidate in PathsIn(arg))
        {
            if (candidate.StartsWith('~')) return candidate;
            if (candidate.StartsWith('/'))
            {
                if (program && !HasDotDot(candidate)) continue;
                if (!Inside(candidate)) return candidate;
            }
            else if (HasDotDot(candidate) && !Inside(WorkspaceMount + "/" + candidate)) return candidate;
        }
        return null;
    }

    private static IEnumerable<string> PathsIn(string arg)
    {
        yield return arg;
        var equals = arg.IndexOf('=');
        if (arg.StartsWith('-') && equals > 0) yield return arg[(equals + 1)..];
    }

    private static bool HasDotDot(string path) => path.Split('/').Contains("..");

    private static bool Inside(string absolute)
    {
        // Resolved by segments, never against the host's file system: "/workspace/../etc" is /etc.
        var stack = new List<string>();
        foreach (var segment in absolute.Split('/'))
        {
            if (segment is "" or ".") continue;
            if (segment == "..")
            {
                if (stack.Count == 0) return false;
                stack.RemoveAt(stack.Count - 1);
            }
            else stack.Add(segment);
        }
        return stack.Count >= 1 && stack[0] == WorkspaceMount[1..];
    }

    private static Dictionary<string, string> Env(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object) throw new AgentManifestException("env", $"must be an object of name: value strings (got {Kind(value)})");
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            var name = property.Name;
            var field = $"env.{Shown(name)}";
            if (env.Count == MaxEnvEntries) throw new AgentManifestException("env", $"has more than {MaxEnvEntries} variables");
            if (name.Length > MaxEnvNameLength) throw new AgentManifestException(field, $"the name is longer than {MaxEnvNameLength} characters");
            if (!EnvName().IsMatch(name)) throw new AgentManifestException(field, "a name is [A-Z_][A-Z0-9_]* (upper-case letters, digits, underscore)");
            if (name.StartsWith(ReservedEnvPrefix, StringComparison.Ordinal))
                throw new AgentManifestException(field, $"names starting with {ReservedEnvPrefix} are the system's own");
            var text = String(property.Value, field);
            if (text.Length > MaxEnvValueLength) throw new AgentManifestException(field, $"the value has {text.Length} characters; at most {MaxEnvValueLength}");
            if (text.Contains('\0')) throw new AgentManifestException(field, "the value contains a NUL character");
            env[name] = text;
        }
        return env;
    }

    private static EntryBid Bid(JsonElement value, ManifestMinimums minimums)
    {
        if (value.ValueKind != JsonValueKind.Object) throw new AgentManifestException("entryBid", $"must be an object {{amount, bundle}} (got {Kind(value)})");
        long? amount = null;
        ResourceBundle? bundle = null;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "amount": amount = Integer(property.Value, "entryBid.amount"); break;
                case "bundle": bundle = Bundle(property.Value, minimums); break;
                default: throw Unknown("entryBid.", property.Name, "amount, bundle");
            }
        }
        if (amount is not { } a) throw new AgentManifestException("entryBid.amount", "is required");
        if (a < 1) throw new AgentManifestException("entryBid.amount", $"must be at least 1 credit (got {a})");
        if (a > MaxEntryBidAmount) throw new AgentManifestException("entryBid.amount", $"must be at most {MaxEntryBidAmount} credits");
        if (bundle is not { } b) throw new AgentManifestException("entryBid.bundle", "is required");
        return new EntryBid(a, b);
    }

    private static ResourceBundle Bundle(JsonElement value, ManifestMinimums minimums)
    {
        const string at = "entryBid.bundle";
        if (value.ValueKind != JsonValueKind.Object) throw new AgentManifestException(at, $"must be an object (got {Kind(value)})");
        long? cpu = null, memory = null, tokens = null, attention = null;
        foreach (var property in value.EnumerateObject())
        {
            var field = $"{at}.{property.Name}";
            switch (property.Name)
            {
                case "cpuMillicores": cpu = Integer(property.Value, field); break;
                case "memoryMiB": memory = Integer(property.Value, field); break;
                case "tokens": tokens = Integer(property.Value, field); break;
                case "attentionBasisPoints": attention = Integer(property.Value, field); break;
                default: throw Unknown(at + ".", property.Name, "cpuMillicores, memoryMiB, tokens, attentionBasisPoints");
            }
        }
        // Like a bid's bundle: CPU and memory cap the container, so they are required and at least the sandbox minimums.
        if (cpu is not { } c) throw new AgentManifestException($"{at}.cpuMillicores", "is required");
        if (memory is not { } m) throw new AgentManifestException($"{at}.memoryMiB", "is required");
        if (c < minimums.CpuMillicores)
            throw new AgentManifestException($"{at}.cpuMillicores", $"must be at least {minimums.CpuMillicores} (a bundle runs a container capped by it)");
        if (m < minimums.MemoryMiB)
            throw new AgentManifestException($"{at}.memoryMiB", $"must be at least {minimums.MemoryMiB} (a bundle runs a container capped by it)");
        if (tokens is < 0) throw new AgentManifestException($"{at}.tokens", "must not be negative");
        if (attention is < 0 or > 10_000) throw new AgentManifestException($"{at}.attentionBasisPoints", "must be between 0 and 10000");
        return ResourceBundle.Create(c, m, tokens ?? 0, attention ?? 0);
    }

    private static long Integer(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Number)
            throw new AgentManifestException(field, $"must be a number, not {Kind(value)} (numbers are not quoted)");
        return value.TryGetInt64(out var n) ? n : throw new AgentManifestException(field, "must be a whole number within range");
    }

    private static void CheckImage(string image)
    {
        if (image.Length == 0) throw new AgentManifestException("image", "must not be empty");
        if (image.Length > MaxImageLength) throw new AgentManifestException("image", $"is longer than {MaxImageLength} characters");
        if (!ImageReference().IsMatch(image))
            throw new AgentManifestException("image", $"'{Shown(image)}' is not an image reference such as name:tag or registry/name:tag");
    }

    private static AgentManifestException Unknown(string prefix, string name, string known) =>
        new($"{prefix}{Shown(name)}", $"unknown property; known: {known}");

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => "a boolean",
    };

    /// <summary>Hostile text shown in an error stays one short line: control characters become '?', long text is cut.</summary>
    private static string Shown(string text)
    {
        var cut = text.Length > 80 ? text[..80] + "…" : text;
        return new string(cut.Select(ch => char.IsControl(ch) ? '?' : ch).ToArray());
    }

    private static string OneLine(string text) => Shown(text.ReplaceLineEndings(" "));

    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$")]
    private static partial Regex EnvName();

    // Docker's reference grammar: [host[:port]/]path-component(/path-component)*[:tag][@sha256:digest], lower-case paths.
    [GeneratedRegex(@"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")]
    private static partial Regex ImageReference();
}
