#!/usr/bin/env bash
# Where the gateway spends its time: runs the release gateway in front of the same canned nginx upstream as
# proxy-overhead.sh, drives it with wrk and samples it with `perf record -g` (software clock; this machine kind
# has no hardware counters). callgrind would count instructions exactly, but valgrind 3.19 crashes reading
# lib_FoundationICU.so's symbols, so sampling it is.
#
#   Benchmarks/profile-gateway.sh                       # non-streaming passthrough, CONNS=10 connections, no pacing
#   MODE=stream PACE_MS=2 Benchmarks/profile-gateway.sh # streaming, each connection pausing 2 ms between requests
#   BIN=/path/to/aihigress OUT=/tmp/profile Benchmarks/profile-gateway.sh
#   BILLING_MODE=meter Benchmarks/profile-gateway.sh      # no credit holds (default: enforce, as in production)
#
# Then: perf report -i $OUT/perf.data --children --sort sym -g none | swift demangle --simplified
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE="${MODE:-plain}"
if [[ -z "${BIN:-}" ]]; then
    swift build -c release --product aihigress >&2
    BIN="$ROOT/.build/release/aihigress"
fi
command -v perf >/dev/null && command -v wrk >/dev/null && [[ -x /usr/sbin/nginx ]] || { echo "needs perf, wrk and nginx (apt-get install linux-perf wrk nginx-light)" >&2; exit 1; }

TMP="$(mktemp -d)"
OUT="${OUT:-$TMP}"
mkdir -p "$OUT"
source "$ROOT/Benchmarks/fixture.sh"
cleanup() {
    bench_stop
    rm -rf "$TMP/data"
}
trap cleanup EXIT

bench_start_upstream
bench_prepare_gateway
[[ "$MODE" == stream ]] && export LLM_PROVIDER_bench_CHAT_PATH=/v1/stream
bench_start_gateway "$OUT/gateway.log"
BODY='{"model":"bench-model","messages":[{"role":"user","content":"Say something"}]}'
[[ "$MODE" == stream ]] && BODY='{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"Say something"}]}'
cat > "$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.body = '$BODY'
function delay() return ${PACE_MS:-0} end
LUA
[[ "${PACE_MS:-0}" == 0 ]] && sed -i '/function delay/d' "$TMP/post.lua"
wrk -t1 -c"${CONNS:-10}" -d3s -s "$TMP/post.lua" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" >/dev/null
perf record -F 2000 -g -o "$OUT/perf.data" -p "$GW_PID" -- sleep 10 >/dev/null 2>&1 &
PERF=$!
wrk -t1 -c"${CONNS:-10}" -d10s --latency -s "$TMP/post.lua" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" | tee "$OUT/wrk.txt" | grep -E "Requests/sec|50%|99%"
wait $PERF
echo "profile: $OUT/perf.data" >&2
