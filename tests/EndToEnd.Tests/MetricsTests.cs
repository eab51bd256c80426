using System.Net;
using System.Net.Sockets;
using CyAgents.Orchestrator.Hosting;

namespace CyAgents.EndToEnd.Tests;

/// <summary>GET /metrics after real cycles on the real engine, checked by promtool.</summary>
[Collection(DockerCollection.Name)]
public sealed class MetricsTests(DockerFixture docker)
{
    [Fact]
    public async Task After_three_live_cycles_the_metrics_endpoint_passes_promtool_and_counts_what_happened()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "metrics-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var port = Live.FreePort();
        var settings = Live.Settings(root) with { ApiUrls = $"http://127.0.0.1:{port}" };
        string exposition;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            var reports = await economy.RunCyclesAsync(3, TimeSpan.Zero);
            reports.Count.ShouldBe(3);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            // No token: a Prometheus scraper sends none (ADR 0110).
            var response = await http.GetAsync("/metrics");
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("text/plain");
            exposition = await response.Content.ReadAsStringAsync();

            var executions = reports.Sum(r => r.Executions.Count);
            exposition.ShouldContain("cyagents_cycles_total 3\n");
            exposition.ShouldContain($"cyagents_winners_total {reports.Sum(r => r.Winners.Count)}\n");
            exposition.ShouldContain($"cyagents_executions_total{{status=\"Succeeded\"}} {executions}\n");
            exposition.ShouldContain($"cyagents_launch_latency_seconds_count {executions}\n");
            exposition.ShouldContain("cyagents_clearing_duration_seconds_count 3\n");
            exposition.ShouldContain("cyagents_resource_price_credits{resource=\"cpu\"}");
            exposition.ShouldContain("cyagents_resource_utilization_ratio{resource=\"memory\"}");
            exposition.ShouldContain("cyagents_audit_log_dropped_events_total 0\n");
            // The agents' own API calls over the unix socket are timed by route template.
            exposition.ShouldContain("cyagents_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/bids\",status=\"201\"}");
        }

        var (exit, output) = await Promtool.CheckMetricsAsync(exposition);
        exit.ShouldBe(0, output + "\n" + exposition);
        output.Trim().ShouldBeEmpty(exposition);
    }

}
