#!/usr/bin/env bash
# Compares release binaries of the gateway in the same minutes, alternating them round by round (this machine's
# speed drifts by tens of percent within an hour, so only alternating runs compare). Each run starts nginx and a
# fresh gateway (Benchmarks/fixture.sh), warms it up, measures one load and the gateway's CPU time (user + system,
# all threads, from /proc) per request; at the end it prints each binary's medians.
#
#   Benchmarks/compare-builds.sh /tmp/aihigress-before .build/release/aihigress
#   LOAD=poisson RATE=1000 ROUNDS=6 Benchmarks/compare-builds.sh A B     # open loop at a fixed rate, p50/p99 in µs
#   LOAD=saturation BODY_KB=48 Benchmarks/compare-builds.sh A B          # wrk flat out, with a 48 KB conversation
#
# LOAD: saturation (default; wrk, CONNECTIONS=64 connections), even or poisson (Benchmarks/open-loop.c at RATE
# requests/s, 32 connections). DURATION seconds per run (default 8 for saturation, 10 otherwise). BODY_KB: size of
# the conversation sent (default: one short message). Binaries built from other commits read the migrations of
# this checkout (see proxy-overhead.sh). Needs wrk and nginx (apt-get install wrk nginx-light).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 BINARY [BINARY...]" >&2; exit 2; }
command -v wrk >/dev/null && [[ -x /usr/sbin/nginx ]] || { echo "needs wrk and nginx (apt-get install wrk nginx-light)" >&2; exit 1; }
LOAD="${LOAD:-saturation}"
ROUNDS="${ROUNDS:-4}"
case "$LOAD" in
    saturation) DURATION="${DURATION:-8}" ;;
    even|poisson) DURATION="${DURATION:-10}" ;;
    *) echo "LOAD must be saturation, even or poisson" >&2; exit 2 ;;
esac
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
OPEN_LOOP="$WORK/open-loop"
"$(command -v clang || command -v cc)" -O2 -o "$OPEN_LOOP" "$ROOT/Benchmarks/open-loop.c" -lm
python3 - "${BODY_KB:-0}" >"$WORK/body.json" <<'PY'
import json, sys
kb = int(sys.argv[1])
turn = "lorem ipsum dolor sit amet " * 18
messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": turn} for i in range(kb * 1024 // (len(turn) + 40))]
messages.append({"role": "user", "content": "Say something"})
sys.stdout.write(json.dumps({"model": "bench-model", "messages": messages}))
PY

# One run of $1: prints "p50=… p99=… rps=… cpu_us=…" (latencies in µs; 0 where the load does not measure them).
run_once() (
    BIN="$1"
    TMP="$(mktemp -d)"
    source "$ROOT/Benchmarks/fixture.sh"
    trap 'bench_stop; rm -rf "$TMP"' EXIT
    bench_start_upstream
    bench_prepare_gateway
    bench_start_gateway "$TMP/gateway.log"
    url="http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions"
    cpu() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }
    if [[ "$LOAD" == saturation ]]; then
        printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer %s"\nlocal f = io.open("%s"); wrk.body = f:read("*a"); f:close()\n' \
            "$KEY" "$WORK/body.json" >"$TMP/post.lua"
        wrk -t2 -c"${CONNECTIONS:-64}" -d2s -s "$TMP/post.lua" "$url" >/dev/null
        before=$(cpu)
        wrk -t2 -c"${CONNECTIONS:-64}" -d"${DURATION}s" -s "$TMP/post.lua" "$url" >"$TMP/wrk.txt"
        after=$(cpu)
        python3 - "$TMP/wrk.txt" "$before" "$after" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
count = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if bad: sys.exit(f"{bad.group(1)} non-2xx responses")
print(f"p50=0 p99=0 rps={rps:.0f} cpu_us={(int(sys.argv[3]) - int(sys.argv[2])) * 10000 / count:.0f}")
PY
    else
        body="$(cat "$WORK/body.json")"
        "$OPEN_LOOP" -u "$url" -r "${RATE:-1000}" -d 3 -c 32 -a even -H "Content-Type: application/json" -H "Authorization: Bearer $KEY" -b "$body" >/dev/null
        before=$(cpu)
        out=$("$OPEN_LOOP" -u "$url" -r "${RATE:-1000}" -d "$DURATION" -c 32 -a "$LOAD" -H "Content-Type: application/json" -H "Authorization: Bearer $KEY" -b "$body")
        after=$(cpu)
        python3 - "$out" "$before" "$after" <<'PY'
import sys
f = dict(kv.split("=") for kv in sys.argv[1].split())
if int(f["non2xx"]): sys.exit(f"{f['non2xx']} non-2xx responses")
count = int(f["requests"])
print(f"p50={f['p50']} p99={f['p99']} rps={f['rate']} cpu_us={(int(sys.argv[3]) - int(sys.argv[2])) * 10000 / count:.0f}")
PY
    fi
)

for round in $(seq "$ROUNDS"); do
    for index in $(seq $#); do
        bin="${!index}"
        echo "$index $(run_once "$bin" 2>/dev/null)" | tee -a "$WORK/results.txt" | sed "s|^$index|round $round: $bin|"
    done
done
python3 - "$WORK/results.txt" "$@" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    index, *fields = line.split()
    runs.setdefault(int(index), []).append(dict(f.split("=") for f in fields))
for index, binary in enumerate(sys.argv[2:], start=1):
    rows = runs.get(index, [])
    if not rows: continue
    median = lambda key: statistics.median(float(r[key]) for r in rows)
    print(f"median of {len(rows)}: {binary}: p50 {median('p50'):.0f} µs, p99 {median('p99'):.0f} µs, "
          f"{median('rps'):.0f} requests/s, CPU {median('cpu_us'):.0f} µs per request")
PY
