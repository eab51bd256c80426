using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace CyAgents.SystemApi.Logging;

/// <summary>
/// The one audit log, <c>system.log</c>: Serilog JSON lines, shared by every component. Each event carries
/// <c>Component</c> (<c>Orchestrator</c>, <c>SystemApi</c>, <c>Economy</c>, <c>Agent:&lt;id&gt;</c>) and, where known,
/// <c>Cycle</c>, <c>ExecutionId</c> and <c>AgentId</c>. Create one logger per process with <see cref="Create"/> and
/// plug it into Microsoft.Extensions.Logging with <see cref="AddSystemLog"/>.
/// </summary>
public static class SystemLog
{
    /// <summary>Property naming the component that wrote an event.</summary>
    public const string ComponentProperty = "Component";
    /// <summary>Property holding the allocation cycle.</summary>
    public const string CycleProperty = "Cycle";
    /// <summary>Property holding the execution id.</summary>
    public const string ExecutionIdProperty = "ExecutionId";
    /// <summary>Property holding the agent id.</summary>
    public const string AgentIdProperty = "AgentId";

    /// <summary>Component tag of the host program.</summary>
    public const string Orchestrator = "Orchestrator";
    /// <summary>Component tag of the REST API.</summary>
    public const string SystemApi = "SystemApi";
    /// <summary>Component tag of ledger, market and clearing.</summary>
    public const string Economy = "Economy";

    /// <summary>Component tag of one agent (its stdout/stderr and its own events).</summary>
    public static string AgentComponent(string agentId) => "Agent:" + agentId;

    /// <summary>
    /// Creates the logger writing JSON lines to <paramref name="path"/> (folder created if needed; the file is opened
    /// shared so a standalone API and the orchestrator can append to the same file). Dispose it at exit to flush.
    /// </summary>
    /// <param name="path">The log file, e.g. <c>logs/system.log</c>.</param>
    /// <param name="defaultComponent">Tag for events that name no component and come from no CyAgents namespace.</param>
    /// <param name="minimumLevel">Least level written; framework (Microsoft.*, System.*) events below Warning are dropped.</param>
    /// <param name="alsoConsole">Also write a short human line per event to stderr.</param>
    /// <param name="options">Rolling, retention and queue size; defaults of <see cref="SystemLogOptions"/> when null.</param>
    public static Logger Create(string path, string defaultComponent = Orchestrator, LogEventLevel minimumLevel = LogEventLevel.Information,
        bool alsoConsole = false, SystemLogOptions? options = null)
    {
        options ??= new SystemLogOptions();
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(minimumLevel)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("System", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .Enrich.With(new ComponentEnricher(defaultComponent))
            // Each line carries the hash of the one before it (ADR 0112), continued from the log's last line after a restart.
            // Rolling by size instead of the sink's default 1 GiB cap, after which every event was silently discarded;
            // blockWhenFull: a burst larger than the queue slows the writer down rather than losing audit events.
            .WriteTo.Async(a => a.File(new AuditChain.Formatter(AuditChain.LastHash(path)), path, shared: true,
                    fileSizeLimitBytes: options.FileSizeLimitBytes, rollOnFileSizeLimit: true,
                    retainedFileCountLimit: options.RetainedFileCount),
                monitor: new AuditLogQueue(), bufferSize: options.BufferSize, blockWhenFull: true);
        if (alsoConsole)
            config = config.WriteTo.Console(
                outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} [{Component}] {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose);
        return config.CreateLogger();
    }

    /// <summary>The files of the log at <paramref name="path"/>, oldest first (the rolled sequence Serilog writes).</summary>
    public static IReadOnlyList<string> Files(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var stem = Path.GetFileNameWithoutExtension(full);
        var ext = Path.GetExtension(full);
        if (!Directory.Exists(dir)) return [];
        return Directory.GetFiles(dir, stem + "*" + ext)
            .Where(f => Path.GetFileName(f) == stem + ext || IsSequenceFile(Path.GetFileNameWithoutExtension(f), stem))
            .OrderBy(f => Path.GetFileName(f) == stem + ext ? 0 : int.Parse(Path.GetFileNameWithoutExtension(f)[(stem.Length + 1)..]))
            .ToList();
    }

    /// <summary>The place of a log file's name in the rolled sequence (0 for <c>system.log</c>, 3 for <c>system_003.log</c>); null for other names.</summary>
    public static int? SequenceOf(string fileName, string stem)
    {
        var name = Path.GetFileNameWithoutExtension(fileName);
        if (name == stem) return 0;
        return IsSequenceFile(name, stem) && int.TryParse(name[(stem.Length + 1)..], out var n) ? n : null;
    }

    private static bool IsSequenceFile(string name, string stem) =>
        name.Length > stem.Length + 1 && name.StartsWith(stem + "_", StringComparison.Ordinal) && name[(stem.Length + 1)..].All(char.IsAsciiDigit);

    /// <summary>Routes Microsoft.Extensions.Logging into the system log (replacing other providers).</summary>
    public static ILoggingBuilder AddSystemLog(this ILoggingBuilder builder, Logger logger, bool dispose = true)
    {
        builder.ClearProviders();
        return builder.AddSerilog(logger, dispose);
    }

    /// <summary>A Serilog logger tagged for one agent (used when copying its stdout/stderr).</summary>
    public static Serilog.ILogger ForAgent(this Serilog.ILogger logger, string agentId, string? executionId = null, long? cycle = null)
    {
        var tagged = logger.ForContext(ComponentProperty, AgentComponent(agentId)).ForContext(AgentIdProperty, agentId);
        if (executionId is not null) tagged = tagged.ForContext(ExecutionIdProperty, executionId);
        if (cycle is not null) tagged = tagged.ForContext(CycleProperty, cycle.Value);
        return tagged;
    }

    /// <summary>
    /// Opens a scope so every event logged through <paramref name="logger"/> inside it carries the component and ids.
    /// Null ids are left out.
    /// </summary>
    public static IDisposable? BeginSystemScope(this Microsoft.Extensions.Logging.ILogger logger, string component,
        long? cycle = null, string? executionId = null, string? agentId = null)
    {
        var state = new Dictionary<string, object> { [ComponentProperty] = component };
        if (cycle is not null) state[CycleProperty] = cycle.Value;
        if (executionId is not null) state[ExecutionIdProperty] = executionId;
        if (agentId is not null) state[AgentIdProperty] = agentId;
        return logger.BeginScope(state);
    }

    /// <summary>Tags events that carry no Component from the namespace of their source, else with a default.</summary>
    private sealed class ComponentEnricher(string defaultComponent) : ILogEventEnricher
    {
        private readonly LogEventProperty _default = new(ComponentProperty, new ScalarValue(defaultComponent));
        private static readonly LogEventProperty Api = new(ComponentProperty, new ScalarValue(SystemApi));
        private static readonly LogEventProperty Orch = new(ComponentProperty, new ScalarValue(Orchestrator));
        private static readonly LogEventProperty Eco = new(ComponentProperty, new ScalarValue(Economy));

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            if (logEvent.Properties.ContainsKey(ComponentProperty)) return;
            var source = logEvent.Properties.TryGetValue("SourceContext", out var s) && s is ScalarValue { Value: string name } ? name : "";
            var property = source.StartsWith("CyAgents.SystemApi", StringComparison.Ordinal) ? Api
                : source.StartsWith("CyAgents.Orchestrator", StringComparison.Ordinal) ? Orch
                : source.StartsWith("CyAgents.Economy", StringComparison.Ordinal) ? Eco
                : _default;
            logEvent.AddPropertyIfAbsent(property);
        }
    }
}
