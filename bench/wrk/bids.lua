-- Posts one small bid per request as the agent whose token is in CYAGENTS_TOKEN (give it a large balance).
-- Each bid escrows 1 credit; every 201 is a committed bid row plus its pending ledger transfer.
local token = os.getenv("CYAGENTS_TOKEN")
if token == nil or token == "" then error("set CYAGENTS_TOKEN to an agent token") end

wrk.method = "POST"
wrk.path = "/v1/bids"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"bundle":{"cpuMillicores":100,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0},"amount":1}'

local refused = 0
response = function(status, headers, body)
  if status ~= 201 then refused = refused + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("bids/s: %.0f  p50: %.2f ms  p99: %.2f ms  non-201 (per thread 1): %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, refused))
end
