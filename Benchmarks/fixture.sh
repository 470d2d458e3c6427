# Shared by the benchmark scripts (sourced, not run): a canned upstream in nginx on loopback and a gateway
# configured in front of it with billing as in production. Needs $TMP (a scratch directory) and $BIN.

bench_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# Serves a canned chat completion at /v1/chat/completions, a canned 20-frame SSE stream at /v1/stream and a model
# list; sets NGINX_PORT.
bench_start_upstream() {
    NGINX_PORT=$(bench_port)
    local completion='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}'
    local stream
    stream=$(python3 - <<'PY'
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
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP;
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location = /v1/chat/completions { default_type application/json; return 200 '$completion'; }
        location = /v1/stream { default_type text/event-stream; return 200 '$stream

'; }
        location = /v1/models { default_type application/json; return 200 '{"object":"list","data":[{"id":"bench-model"}]}'; }
    }
}
CONF
    /usr/sbin/nginx -c "$TMP/nginx.conf"
}

# Exports the gateway's settings (provider `bench` = the nginx above; priced, funded organisation; billing mode
# from $BILLING_MODE, default enforce), bootstraps it and sets GATEWAY_PORT and KEY.
bench_prepare_gateway() {
    GATEWAY_PORT=$(bench_port)
    export AIHIGRESS_DATA_DIR="$TMP/data" AIHIGRESS_PORT="$GATEWAY_PORT" AIHIGRESS_ENV_FILE=/nonexistent LOG_LEVEL="${LOG_LEVEL:-warning}" \
        AIHIGRESS_SECRET_KEY=benchmark-secret-0123456789abcdef0123456789 \
        LLM_PROVIDERS=bench LLM_PROVIDER_bench_BASE_URL="http://127.0.0.1:$NGINX_PORT" LLM_PROVIDER_bench_API_KEY=sk-bench \
        LLM_PROVIDER_bench_MODELS=bench-model \
        AIHIGRESS_BILLING_MODE="${BILLING_MODE:-enforce}" AIHIGRESS_UNPRICED_MODELS=default \
        AIHIGRESS_DEFAULT_PRICE_INPUT=1 AIHIGRESS_DEFAULT_PRICE_OUTPUT=1 AIHIGRESS_BOOTSTRAP_CREDITS=100000000
    "$BIN" admin bootstrap --email bench@example.com --password benchmark1 --org bench >/dev/null
    KEY=$("$BIN" keys create --org bench --name bench | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
}

# Starts `aihigress serve` (log to $1), sets GW_PID and waits until it answers /healthz.
bench_start_gateway() {
    "$BIN" serve >"$1" 2>&1 &
    GW_PID=$!
    for _ in $(seq 600); do curl -fsS "http://127.0.0.1:$GATEWAY_PORT/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "the gateway did not start; see $1" >&2
    return 1
}

# Stops the gateway and nginx (for an EXIT trap).
bench_stop() {
    [[ -n "${GW_PID:-}" ]] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
    [[ -f "$TMP/nginx.pid" ]] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
}
