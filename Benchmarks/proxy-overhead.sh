#!/usr/bin/env bash
# Gateway overhead benchmark: the same canned completion served by nginx on loopback, hit directly and through
# the gateway (release build), non-streaming and streaming. Prints requests/s and p50/p99 latency for each and
# the ratio gateway/direct, plus the gateway's resident memory with many concurrent streams: short streams at full
# speed over STREAMS connections (churn), and STREAMS streams held open at once against a slow upstream
# (Benchmarks/slow-upstream.py: 20 frames 250 ms apart, so each stream lasts 5 s).
#
# Three kinds of load: saturation (wrk, CONNECTIONS connections flat out); a fixed rate of RATE requests/s
# (default 1,000) from Benchmarks/open-loop.c, arrivals evenly spaced and then Poisson (the same seeded sequence
# for direct and gateway); and wrk's closed-loop pacing (10 connections, each PACE_MS apart), which sends its
# requests in bursts (PERFORMANCE.md, "Session 10") and is kept as the harsher figure it was before.
#
#   Benchmarks/proxy-overhead.sh            # default: 64 connections, 15 s per run
#   DURATION=30 CONNECTIONS=128 Benchmarks/proxy-overhead.sh
#   BIN=/tmp/aihigress-before Benchmarks/proxy-overhead.sh   # an existing binary, no build
#     (an older binary reads the migrations of the current build's resource bundle: give it its own with
#     AIHIGRESS_MIGRATIONS_DIR=<checkout of that commit>/Migrations, or it may run against a newer schema)
#   BILLING_MODE=meter Benchmarks/proxy-overhead.sh          # no credit holds on the request path (default: enforce)
#   HELD_PROMPT_KB=48 Benchmarks/proxy-overhead.sh           # held streams carry a 48 KB prompt (default: a short one)
#
# Installs wrk and nginx (and, when it builds, the build's libhiredis-dev) with apt-get when missing. Everything
# runs on 127.0.0.1 and stops by itself.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-64}"
STREAMS="${STREAMS:-1000}"
THREADS="${THREADS:-2}"

need=()
command -v wrk >/dev/null || need+=(wrk)
[[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
# The build links hiredis (Sources/CHiredis); an existing BIN needs neither.
if [[ -z "${BIN:-}" ]]; then
    dpkg-query -W -f='${Status}' libhiredis-dev 2>/dev/null | grep -q "install ok installed" || need+=(libhiredis-dev)
    command -v pkg-config >/dev/null || need+=(pkg-config)
fi
if [[ ${#need[@]} -gt 0 ]]; then
    SUDO=(); [[ $EUID -ne 0 ]] && SUDO=(sudo)
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

if [[ -z "${BIN:-}" ]]; then  # BIN=path: measure an existing binary (e.g. a copy of an earlier build)
    echo "== building release binary" >&2
    swift build -c release --product aihigress >&2
    BIN="$ROOT/.build/release/aihigress"
fi

TMP="$(mktemp -d)"
source "$ROOT/Benchmarks/fixture.sh"
cleanup() {
    bench_stop
    rm -rf "$TMP"
}
trap cleanup EXIT
OPEN_LOOP="$TMP/open-loop"
"$(command -v clang || command -v cc)" -O2 -o "$OPEN_LOOP" "$ROOT/Benchmarks/open-loop.c" -lm

bench_start_upstream
bench_prepare_gateway
bench_start_gateway "$TMP/gateway.log"

cat > "$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.body = os.getenv("BENCH_BODY")
LUA
# Paced variant: each of 10 connections waits PACE_MS (default 10) ms between requests, about 1,000 requests/s in total,
# to measure added latency at a fixed load rather than at saturation.
sed "s/^wrk.body = .*/&\nfunction delay() return ${PACE_MS:-10} end/" "$TMP/post.lua" >"$TMP/paced.lua"
BODY='{"model":"bench-model","messages":[{"role":"user","content":"Say something"}]}'
SBODY='{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"Say something"}]}'

run() { # name url body [script connections]
    BENCH_BODY="$3" wrk -t"$THREADS" -c"${5:-$CONNECTIONS}" -d"${DURATION}s" --latency -s "${4:-$TMP/post.lua}" "$2" >"$TMP/$1.txt"
    python3 - "$1" "$TMP/$1.txt" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def lat(p):
    m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{name} {rps:.0f} {lat(50):.3f} {lat(99):.3f} {errors.group(1) if errors else 0}")
PY
}
open_loop() { # name url body arrivals: RATE requests/s for DURATION s after a 1 s warm-up, 32 connections
    "$OPEN_LOOP" -u "$2" -r "${RATE:-1000}" -d "$DURATION" -c 32 -a "$4" -H "Content-Type: application/json" \
        -H "Authorization: Bearer $KEY" -b "$3" | python3 -c '
import sys
f = dict(kv.split("=") for kv in sys.stdin.read().split())
print(sys.argv[1], f["rate"], "%.3f" % (float(f["p50"]) / 1000), "%.3f" % (float(f["p99"]) / 1000), f["non2xx"])' "$1"
}
# Streaming upstream for the gateway: point the provider's chat path at the canned stream.
echo "== direct / gateway, non-streaming and streaming ($CONNECTIONS connections, ${DURATION}s each)" >&2
D=$(run direct "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" "$BODY")
G=$(run gateway "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" "$BODY")
echo "== direct / gateway at ${RATE:-1000} requests/s: evenly spaced, then Poisson arrivals; then wrk's paced bursts" >&2
DE=$(open_loop direct_even "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" "$BODY" even)
GE=$(open_loop gateway_even "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" "$BODY" even)
DR=$(open_loop direct_poisson "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" "$BODY" poisson)
GR=$(open_loop gateway_poisson "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" "$BODY" poisson)
DP=$(run direct_paced "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" "$BODY" "$TMP/paced.lua" 10)
GP=$(run gateway_paced "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" "$BODY" "$TMP/paced.lua" 10)
DS=$(run direct_stream "http://127.0.0.1:$NGINX_PORT/v1/stream" "$SBODY")
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
LLM_PROVIDER_bench_CHAT_PATH=/v1/stream bench_start_gateway "$TMP/gateway-stream.log"
GS=$(run gateway_stream "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" "$SBODY")

echo "== $STREAMS concurrent streams: peak gateway RSS" >&2
PEAK=0
( BENCH_BODY="$SBODY" wrk -t"$THREADS" -c"$STREAMS" -d10s -s "$TMP/post.lua" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" >"$TMP/streams.txt" ) &
WRK=$!
while kill -0 "$WRK" 2>/dev/null; do
    RSS=$(awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status")
    (( RSS > PEAK )) && PEAK=$RSS
    sleep 0.2
done
STREAM_RPS=$(grep Requests/sec "$TMP/streams.txt" | awk '{print $2}')

echo "== $STREAMS streams held open at once: gateway RSS" >&2
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
SLOW_PORT=$(bench_port)
python3 "$ROOT/Benchmarks/slow-upstream.py" "$SLOW_PORT" 20 0.25 &
SLOW_PID=$!
trap 'kill $SLOW_PID 2>/dev/null; cleanup' EXIT
LLM_PROVIDER_bench_BASE_URL="http://127.0.0.1:$SLOW_PORT" bench_start_gateway "$TMP/gateway-held.log"
HBODY=$(python3 -c 'import json,sys; n=int(sys.argv[1]); text=("lorem ipsum " * (n * 1024 // 12 + 1))[: n * 1024] if n else "Say something"; print(json.dumps({"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": text}]}))' "${HELD_PROMPT_KB:-0}")
START=$(date +%s.%N)
( BENCH_BODY="$HBODY" wrk -t"$THREADS" -c"$STREAMS" -d12s --timeout 30s -s "$TMP/post.lua" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" >"$TMP/held.txt" ) &
WRK=$!
: >"$TMP/held-rss.txt"
while kill -0 "$WRK" 2>/dev/null; do
    echo "$(date +%s.%N) $(awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status")" >>"$TMP/held-rss.txt"
    sleep 0.1
done
# Every stream of the first wave is open between 2.5 and 4.5 s (they all start at once and last 5 s); the peak
# includes the instant when all of them end and the next wave starts.
HELD=$(python3 - "$START" "$TMP/held-rss.txt" "$TMP/held.txt" <<'PY'
import re, statistics, sys
start = float(sys.argv[1])
rows = [(float(t) - start, int(r)) for t, r in (l.split() for l in open(sys.argv[2]) if len(l.split()) == 2)]
held = [r for t, r in rows if 2.5 <= t <= 4.5]
done = re.search(r"(\d+) requests in", open(sys.argv[3]).read())
print(f"{statistics.median(held)} {max(r for _, r in rows)} {done.group(1) if done else 0}")
PY
)

python3 - "$D" "$G" "$DS" "$GS" "$DE" "$GE" "$DR" "$GR" "$DP" "$GP" "$PEAK" "$STREAM_RPS" "$STREAMS" $HELD <<'PY'
import sys
rows = [r.split() for r in sys.argv[1:11]]
peak_kb, stream_rps, streams = int(sys.argv[11]), sys.argv[12], sys.argv[13]
held_kb, held_peak_kb, held_done = float(sys.argv[14]), int(sys.argv[15]), sys.argv[16]
print(f"{'run':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
for name, rps, p50, p99, err in rows:
    print(f"{name:<18}{rps:>10}{p50:>10}{p99:>10}{err:>9}")
for a, b in ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9)):
    d, g = rows[a], rows[b]
    print(f"{g[0]}/{d[0]}: throughput x{float(g[1])/float(d[1]):.2f}, p50 +{float(g[2])-float(d[2]):.3f} ms, p99 +{float(g[3])-float(d[3]):.3f} ms")
print(f"{streams} connections of short streams (churn): peak RSS {peak_kb/1024:.0f} MB, {stream_rps} streams/s")
print(f"{streams} streams held open at once: RSS {held_kb/1024:.0f} MB while they stream, peak {held_peak_kb/1024:.0f} MB; {held_done} streams completed")
PY
