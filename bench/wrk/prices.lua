-- GET /v1/market/prices (anonymous, cached snapshot); prints requests/s and latency percentiles.
wrk.path = "/v1/market/prices"
done = function(summary, latency, requests)
  io.write(string.format("prices req/s: %.0f  p50: %.2f ms  p99: %.2f ms  errors: %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
