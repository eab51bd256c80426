using System.Diagnostics.Metrics;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Logging;

namespace CyAgents.SystemApi.Metrics;

/// <summary>
/// The instruments of one host (meter <c>CyAgents</c>, created through the host's <see cref="IMeterFactory"/> so two hosts in one
/// process keep apart). Instrument names are already Prometheus names: <see cref="PrometheusExposition"/> adds only <c>_total</c>
/// to counters and the histogram suffixes. Labels are bounded sets (resource kinds, statuses, route templates), never ids.
/// </summary>
public sealed class SystemMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "CyAgents";

    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Counter<long> _cycles;
    private readonly Histogram<double> _clearing;
    private readonly Counter<long> _bids;
    private readonly Counter<long> _winners;
    private readonly Counter<long> _revenue;
    private readonly Counter<long> _executions;
    private readonly Histogram<double> _launch;
    private readonly Histogram<double> _requests;
    private readonly Counter<long> _llmTokens;
    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceKind, (double Utilization, double Price)> _market = [];

    /// <summary>Creates the instruments on a meter of <paramref name="factory"/>.</summary>
    public SystemMetrics(IMeterFactory factory)
    {
        Meter = factory.Create(MeterName);
        _cycles = Meter.CreateCounter<long>("cyagents_cycles", description: "Allocation cycles cleared and settled.");
        _clearing = Meter.CreateHistogram("cyagents_clearing_duration_seconds", "s",
            "Time from freezing a cycle's bids to its settlement committed.", advice: Seconds());
        _bids = Meter.CreateCounter<long>("cyagents_bids_settled", description: "Bids settled, by outcome (won or lost).");
        _winners = Meter.CreateCounter<long>("cyagents_winners", description: "Winning bids over all cycles.");
        _revenue = Meter.CreateCounter<long>("cyagents_revenue_credits", description: "Credits paid by winners to the treasury.");
        _executions = Meter.CreateCounter<long>("cyagents_executions", description: "Executions ended, by status.");
        _launch = Meter.CreateHistogram("cyagents_launch_latency_seconds", "s",
            "Time from handing a winner to the sandbox to its container started.", advice: Seconds());
        _requests = Meter.CreateHistogram("cyagents_http_request_duration_seconds", "s",
            "System API request durations, by method, route template and status code.", advice: Seconds());
        _llmTokens = Meter.CreateCounter<long>("cyagents_llm_tokens", description: "LLM tokens through the gateway, by kind (prompt, completion, charged).");
        Meter.CreateObservableGauge("cyagents_resource_utilization_ratio", () => Market(m => m.Utilization),
            description: "Share of the last cycle's supply allocated, per resource.");
        Meter.CreateObservableGauge("cyagents_resource_price_credits", () => Market(m => m.Price),
            description: "Price per unit in force for the next cycle, in credits, per resource.");
        Meter.CreateObservableCounter("cyagents_audit_log_dropped_events", () => AuditLogQueue.Dropped,
            description: "system.log events dropped by a full queue (the sink blocks instead, so this stays 0).");
        Meter.CreateObservableGauge("cyagents_audit_log_queued_events", () => AuditLogQueue.Queued,
            description: "system.log events waiting for the file writer.");
        // Listening starts with the instruments, so nothing measured before the first scrape is missed.
        Exposition = new PrometheusExposition(Meter);
    }

    /// <summary>What <c>GET /metrics</c> writes.</summary>
    public PrometheusExposition Exposition { get; }

    /// <summary>The meter (for listeners).</summary>
    public Meter Meter { get; }

    /// <summary>A cycle was settled.</summary>
    public void CycleSettled(TimeSpan clearing, int bids, int winners, long revenue,
        IEnumerable<(ResourceKind Kind, double Utilization, double NextPrice)> market)
    {
        _cycles.Add(1);
        _clearing.Record(clearing.TotalSeconds);
        _bids.Add(winners, new KeyValuePair<string, object?>("outcome", "won"));
        _bids.Add(bids - winners, new KeyValuePair<string, object?>("outcome", "lost"));
        _winners.Add(winners);
        _revenue.Add(revenue);
        lock (_gate)
            foreach (var (kind, utilization, price) in market) _market[kind] = (utilization, price);
    }

    /// <summary>An execution ended with <paramref name="status"/>; <paramref name="launch"/> when its container started.</summary>
    public void ExecutionEnded(string status, TimeSpan? launch)
    {
        _executions.Add(1, new KeyValuePair<string, object?>("status", status));
        if (launch is { } l) _launch.Record(Math.Max(0, l.TotalSeconds));
    }

    /// <summary>One API request was answered.</summary>
    public void RequestServed(string method, string route, int status, TimeSpan elapsed) =>
        _requests.Record(elapsed.TotalSeconds, new("method", method), new("route", route), new("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>One LLM call was settled.</summary>
    public void LlmCall(long prompt, long completion, long charged)
    {
        _llmTokens.Add(prompt, new KeyValuePair<string, object?>("kind", "prompt"));
        _llmTokens.Add(completion, new KeyValuePair<string, object?>("kind", "completion"));
        _llmTokens.Add(charged, new KeyValuePair<string, object?>("kind", "charged"));
    }

    /// <inheritdoc />
    public void Dispose() => Exposition.Dispose();

    private IEnumerable<Measurement<double>> Market(Func<(double Utilization, double Price), double> pick)
    {
        lock (_gate)
            return _market.OrderBy(m => m.Key).Select(m => new Measurement<double>(pick(m.Value),
                new KeyValuePair<string, object?>("resource", m.Key.ToString().ToLowerInvariant()))).ToList();
    }

    private static InstrumentAdvice<double> Seconds() => new() { HistogramBucketBoundaries = SecondsBuckets };
}
