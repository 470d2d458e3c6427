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
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
NGINX_PORT=$(port)
GATEWAY_PORT=$(port)
cleanup() {
    [[ -n "${GW_PID:-}" ]] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
    [[ -f "$TMP/nginx.pid" ]] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
    rm -rf "$TMP/data"
}
trap cleanup EXIT

COMPLETION='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}'
STREAM_BODY=$(python3 - <<'PY'
import json
base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "bench-model"}
frames = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
frames += [{**base, "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]} for w in ("The quick brown fox jumps over the lazy dog. " * 2).split(" ")]
frames.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
frames.append({**base, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32}})
print("".join("data: " + json.dumps(f, separators=(",", ":")) + "\n\n" for f in frames) + "data: [DONE]\n")
PY
)
cat > "$TMP/nginx.conf" <<CONF
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = /v1/chat/completions { default_type application/json; return 200 '$COMPLETION'; }
        location = /v1/stream { default_type text/event-stream; return 200 '$STREAM_BODY

'; }
    }
}
CONF
/usr/sbin/nginx -c "$TMP/nginx.conf"

export AIHIGRESS_DATA_DIR="$TMP/data" AIHIGRESS_PORT="$GATEWAY_PORT" AIHIGRESS_ENV_FILE=/nonexistent LOG_LEVEL="${LOG_LEVEL:-warning}" \
    AIHIGRESS_SECRET_KEY=benchmark-secret-0123456789abcdef0123456789 \
    LLM_PROVIDERS=bench LLM_PROVIDER_bench_BASE_URL="http://127.0.0.1:$NGINX_PORT" LLM_PROVIDER_bench_API_KEY=sk-bench \
    LLM_PROVIDER_bench_MODELS=bench-model \
    AIHIGRESS_BILLING_MODE="${BILLING_MODE:-enforce}" AIHIGRESS_UNPRICED_MODELS=default \
    AIHIGRESS_DEFAULT_PRICE_INPUT=1 AIHIGRESS_DEFAULT_PRICE_OUTPUT=1 AIHIGRESS_BOOTSTRAP_CREDITS=100000000
[[ "$MODE" == stream ]] && export LLM_PROVIDER_bench_CHAT_PATH=/v1/stream
"$BIN" admin bootstrap --email bench@example.com --password benchmark1 --org bench >/dev/null
KEY=$("$BIN" keys create --org bench --name bench | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
"$BIN" serve >"$OUT/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 600); do curl -fsS "http://127.0.0.1:$GATEWAY_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
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
