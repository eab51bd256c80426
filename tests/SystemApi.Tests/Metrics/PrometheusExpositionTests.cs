using System.Diagnostics.Metrics;
using CyAgents.SystemApi.Metrics;

namespace CyAgents.SystemApi.Tests.Metrics;

/// <summary>The text format as a scraper reads it: names, types, cumulative buckets, escaped labels, a bounded number of series.</summary>
public sealed class PrometheusExpositionTests
{
    [Fact]
    public void Counters_get_total_histograms_get_cumulative_buckets_and_label_values_are_escaped()
    {
        using var meter = new Meter("CyAgents.Test." + Guid.NewGuid().ToString("N"));
        var counter = meter.CreateCounter<long>("t_things", description: "Things.");
        var histogram = meter.CreateHistogram("t_wait_seconds", "s", "Waits.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        using var exposition = new PrometheusExposition(meter);

        counter.Add(2, new KeyValuePair<string, object?>("kind", "a\"b\\c\nd"));
        counter.Add(3, new KeyValuePair<string, object?>("kind", "a\"b\\c\nd"));
        histogram.Record(0.05);
        histogram.Record(0.5);
        histogram.Record(7);

        var text = exposition.Write();
        text.ShouldContain("# TYPE t_things_total counter\n");
        text.ShouldContain("t_things_total{kind=\"a\\\"b\\\\c\\nd\"} 5\n");
        text.ShouldContain("# TYPE t_wait_seconds histogram\n");
        text.ShouldContain("t_wait_seconds_bucket{le=\"0.1\"} 1\nt_wait_seconds_bucket{le=\"1\"} 2\nt_wait_seconds_bucket{le=\"+Inf\"} 3\n");
        text.ShouldContain("t_wait_seconds_sum 7.55\nt_wait_seconds_count 3\n");
    }

    [Fact]
    public void A_label_that_takes_ever_new_values_stops_adding_series_at_the_cap()
    {
        using var meter = new Meter("CyAgents.Test." + Guid.NewGuid().ToString("N"));
        var counter = meter.CreateCounter<long>("t_calls", description: "Calls.");
        using var exposition = new PrometheusExposition(meter);

        for (var i = 0; i < PrometheusExposition.MaxSeriesPerInstrument + 10; i++)
            counter.Add(1, new KeyValuePair<string, object?>("id", i));

        exposition.Write().Split('\n').Count(l => l.StartsWith("t_calls_total{", StringComparison.Ordinal))
            .ShouldBe(PrometheusExposition.MaxSeriesPerInstrument);
        exposition.DroppedSeries.ShouldBe(10);
    }
}
