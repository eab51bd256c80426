#!/usr/bin/env bash
# Benchmarks the System API with wrk on 127.0.0.1 against a Release build on a fresh SQLite file.
# Usage: bench/wrk/run.sh [duration, default 10s] [connections, default 32]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
duration="${1:-10s}"
connections="${2:-32}"
port="${CYAGENTS_BENCH_PORT:-5180}"
work="$(mktemp -d /tmp/cyagents-wrk-XXXXXX)"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

dotnet publish "$repo/src/SystemApi" -c Release -o "$work/app" -v quiet -nologo >/dev/null
dll="$work/app/CyAgents.SystemApi.dll"
token="$(cd "$here" && dotnet run seed.cs -- "$work/cyagents.db" bench 1000000000000 | tail -1)"

cd "$work"
dotnet "$dll" \
  --Database:ConnectionString="Data Source=$work/cyagents.db" \
  --SystemApi:Urls="http://127.0.0.1:$port" --SystemApi:SocketPath="$work/api.sock" \
  --SystemApi:OperatorTokenFile="$work/operator.token" \
  --SystemApi:RateLimitPerSecond=1000000 --SystemApi:RateLimitBurst=1000000 \
  --SystemApi:AnonymousRateLimitPerSecond=1000000 --SystemApi:AnonymousRateLimitBurst=1000000 \
  --SystemLog:Path="$work/system.log" --SystemLog:Console=false --Logging:LogLevel:Default=Warning >"$work/api.out" 2>&1 &
api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || { echo "the API did not start:" >&2; cat "$work/api.out" >&2; exit 1; }

echo "== warm-up"
wrk -t2 -c"$connections" -d3s -s "$here/prices.lua" "http://127.0.0.1:$port" >/dev/null
CYAGENTS_TOKEN="$token" wrk -t2 -c"$connections" -d3s -s "$here/bids.lua" "http://127.0.0.1:$port" >/dev/null
echo "== GET /v1/market/prices ($duration, $connections connections)"
wrk -t2 -c"$connections" -d"$duration" --latency -s "$here/prices.lua" "http://127.0.0.1:$port"
echo "== POST /v1/bids ($duration, $connections connections)"
CYAGENTS_TOKEN="$token" wrk -t2 -c"$connections" -d"$duration" --latency -s "$here/bids.lua" "http://127.0.0.1:$port"
echo "== balance after the run"
curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/economy/balance"; echo
