#!/usr/bin/env bash
# The test command of AI Higress Gateway.
#
#   ./scripts/test.sh [extra swift test args, e.g. --filter CoreTests]
#
# Builds once (`swift build --build-tests`), then runs the whole suite twice:
#   pass "embedded"        AIHIGRESS_TEST_BACKEND=embedded  (SQLite + in-process shared state)
#   pass "postgres+redis"  AIHIGRESS_TEST_BACKEND=external  against a throw-away PostgreSQL
#                          and Redis started by this script on free 127.0.0.1 ports
#                          (AIHIGRESS_TEST_POSTGRES_URL, AIHIGRESS_TEST_REDIS_URL,
#                          AIHIGRESS_TEST_REQUIRE_EXTERNAL=1).
# Both passes always run; the exit status is non-zero if either failed.
#
# Environment switches:
#   AIHIGRESS_TEST_PASSES=embedded|external|both   (default both; "embedded,external" also works)
#   AIHIGRESS_TEST_PARALLEL=1        run tests in parallel (faster, but on 2 cores the load makes
#                                    timing-based tests flaky; the default runs them one at a time)
#   AIHIGRESS_TEST_DRY_SERVERS=1     start PostgreSQL + Redis, check them (psql SELECT 1,
#                                    redis-cli ping), print the URLs, stop them. No Swift.
#   AIHIGRESS_TEST_DRY_SERVERS=hold  same, but keep the servers running until Ctrl-C, so the
#                                    printed URLs can be used from another shell.
#   AIHIGRESS_PG_BIN=/path/to/bin    PostgreSQL server binaries (default: newest
#                                    /usr/lib/postgresql/*/bin, else initdb on PATH).
#
# Missing apt packages (libhiredis-dev, pkg-config, redis-server, postgresql, python3) are
# installed with apt-get (through sudo when not root).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

section() { printf '\n==== %s ====\n' "$*"; }
info()    { printf '[test.sh] %s\n' "$*"; }
die()     { printf '[test.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------
DRY_SERVERS="${AIHIGRESS_TEST_DRY_SERVERS:-}"
case "$DRY_SERVERS" in
    ""|0|false|no) DRY_SERVERS="" ;;
    1|true|yes) DRY_SERVERS="once" ;;
    hold) DRY_SERVERS="hold" ;;
    *) die "AIHIGRESS_TEST_DRY_SERVERS must be 1 or hold (got '$DRY_SERVERS')" ;;
esac

RUN_EMBEDDED=0
RUN_EXTERNAL=0
passes_spec="${AIHIGRESS_TEST_PASSES:-both}"
IFS=', ' read -r -a passes_list <<<"$passes_spec"
for p in "${passes_list[@]}"; do
    case "$p" in
        "") ;;
        embedded) RUN_EMBEDDED=1 ;;
        external|postgres|postgres+redis) RUN_EXTERNAL=1 ;;
        both|all) RUN_EMBEDDED=1; RUN_EXTERNAL=1 ;;
        *) die "AIHIGRESS_TEST_PASSES: unknown pass '$p' (use embedded, external or both)" ;;
    esac
done
if [[ $RUN_EMBEDDED -eq 0 && $RUN_EXTERNAL -eq 0 ]]; then
    die "AIHIGRESS_TEST_PASSES selects no pass (use embedded, external or both)"
fi

if [[ -n "${AIHIGRESS_PG_BIN:-}" && ! -x "${AIHIGRESS_PG_BIN}/initdb" ]]; then
    die "AIHIGRESS_PG_BIN=$AIHIGRESS_PG_BIN contains no initdb"
fi

NEED_SERVERS=0
if [[ -n "$DRY_SERVERS" || $RUN_EXTERNAL -eq 1 ]]; then NEED_SERVERS=1; fi

# ---------------------------------------------------------------------------
# System packages
# ---------------------------------------------------------------------------
SUDO=()
if [[ $EUID -ne 0 ]]; then SUDO=(sudo); fi

find_pg_bin() {
    if [[ -n "${AIHIGRESS_PG_BIN:-}" ]]; then
        printf '%s\n' "$AIHIGRESS_PG_BIN"; return 0
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            printf '%s\n' "$d"; return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"; return 0
    fi
    return 1
}

pkg_installed() { dpkg -s "$1" >/dev/null 2>&1; }

missing=()
if ! pkg_installed libhiredis-dev; then missing+=(libhiredis-dev); fi
if ! command -v pkg-config >/dev/null 2>&1; then missing+=(pkg-config); fi
if [[ $NEED_SERVERS -eq 1 ]]; then
    if ! command -v python3 >/dev/null 2>&1; then missing+=(python3); fi
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        missing+=(redis-server)
    fi
    if ! find_pg_bin >/dev/null 2>&1; then missing+=(postgresql); fi
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    section "Installing missing packages: ${missing[*]}"
    if [[ ${#SUDO[@]} -gt 0 ]] && ! command -v sudo >/dev/null 2>&1; then
        die "not root and sudo is not available; install: ${missing[*]}"
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---------------------------------------------------------------------------
# Throw-away PostgreSQL + Redis
# ---------------------------------------------------------------------------
TMP_ROOT=""
# Scratch space of the test processes (databases, data directories, logs): one directory per run, removed at exit.
TEST_TMP=""
PG_BIN=""
PG_OS_USER=""          # non-empty when the script is root: postgres runs as this user
PG_DATA=""
PG_PORT=""
PG_PASSWORD=""
REDIS_PORT=""
REDIS_PIDFILE=""
POSTGRES_URL=""
REDIS_URL_T=""
SERVERS_UP=0
HOLD_SLEEP_PID=""

as_pg() {
    if [[ -n "$PG_OS_USER" ]]; then
        (cd "$TMP_ROOT" && runuser -u "$PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# True while pid $1 exists and is not a zombie (an exited daemon may stay a zombie for a
# while when PID 1 reaps lazily, e.g. in containers).
pid_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local stat=""
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [[ "${stat%% *}" != "Z" ]]
}

# Waits up to $2 seconds for pid $1 to exit.
wait_pid_gone() {
    local pid="$1" limit="$2" start=$SECONDS
    while pid_alive "$pid"; do
        (( SECONDS - start >= limit )) && return 1
        sleep 0.2
    done
    return 0
}

stop_redis() {
    [[ -n "$REDIS_PIDFILE" && -f "$REDIS_PIDFILE" ]] || return 0
    local pid
    pid="$(cat "$REDIS_PIDFILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] || return 0
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    if ! wait_pid_gone "$pid" 10; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_pid_gone "$pid" 5; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
}

stop_postgres() {
    [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]] || return 0
    local pid
    pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    if [[ -n "$pid" ]] && ! wait_pid_gone "$pid" 10; then
        kill -QUIT "$pid" 2>/dev/null || true
        if ! wait_pid_gone "$pid" 5; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM HUP
    if [[ -n "$HOLD_SLEEP_PID" ]]; then kill "$HOLD_SLEEP_PID" 2>/dev/null; fi
    if [[ -n "$TEST_TMP" ]]; then rm -rf "$TEST_TMP"; fi
    if [[ -n "$TMP_ROOT" ]]; then
        [[ $SERVERS_UP -eq 1 ]] && info "stopping PostgreSQL and Redis"
        stop_redis
        stop_postgres
        rm -rf "$TMP_ROOT"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

show_log_tail() {
    local f="$1"
    if [[ -f "$f" ]]; then
        printf -- '--- last lines of %s ---\n' "$f" >&2
        tail -n 40 "$f" >&2 || true
    fi
}

# Prints an error; start_servers then returns 1 (the EXIT trap cleans up what started).
sfail() { printf '[test.sh] ERROR: %s\n' "$*" >&2; }

# Runs in a `||` context (so `set -e` is off inside): every step checks its own status.
start_servers() {
    section "Starting PostgreSQL and Redis"
    PG_BIN="$(find_pg_bin)" || { sfail "PostgreSQL server binaries not found (install postgresql)"; return 1; }
    info "PostgreSQL binaries: $PG_BIN"

    TMP_ROOT="$(mktemp -d -t aihigress-test.XXXXXXXX)" || { sfail "mktemp failed"; return 1; }
    chmod 0711 "$TMP_ROOT"
    info "temp dir: $TMP_ROOT"

    if [[ $EUID -eq 0 ]]; then
        PG_OS_USER="postgres"
        if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
            PG_OS_USER="aihigress-test"
            if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
                info "creating system user $PG_OS_USER (initdb refuses to run as root)"
                useradd --system --no-create-home --home-dir /nonexistent \
                    --shell /usr/sbin/nologin "$PG_OS_USER" \
                    || { sfail "could not create user $PG_OS_USER"; return 1; }
            fi
        fi
        info "PostgreSQL runs as OS user $PG_OS_USER"
    fi

    read -r PG_PORT REDIS_PORT < <(python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
    )
    [[ -n "$PG_PORT" && -n "$REDIS_PORT" ]] || { sfail "could not pick free ports"; return 1; }

    # PostgreSQL -------------------------------------------------------------
    local pg_dir="$TMP_ROOT/pg"
    PG_DATA="$pg_dir/data"
    mkdir -p "$pg_dir/run" || { sfail "cannot create $pg_dir"; return 1; }
    PG_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    printf '%s\n' "$PG_PASSWORD" >"$pg_dir/pwfile"
    chmod 0600 "$pg_dir/pwfile"
    chmod 0700 "$pg_dir"
    if [[ -n "$PG_OS_USER" ]]; then
        chown -R "$PG_OS_USER": "$pg_dir" || { sfail "chown $pg_dir failed"; return 1; }
    fi

    info "initdb (superuser aihigress, scram-sha-256)"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U aihigress --pwfile="$pg_dir/pwfile" \
            --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
            --encoding=UTF8 --locale=C --no-sync --no-instructions >"$pg_dir/initdb.log" 2>&1; then
        show_log_tail "$pg_dir/initdb.log"
        { sfail "initdb failed"; return 1; }
    fi
    rm -f "$pg_dir/pwfile"
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# --- aihigress test settings ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$pg_dir/run'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = scram-sha-256
EOF
    # Only TCP from 127.0.0.1 (scram) and the private unix socket.
    cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
EOF
    if [[ -n "$PG_OS_USER" ]]; then chown "$PG_OS_USER": "$PG_DATA/postgresql.conf" "$PG_DATA/pg_hba.conf"; fi

    info "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    SERVERS_UP=1
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$pg_dir/postgres.log" -w -t 30 start >/dev/null; then
        show_log_tail "$pg_dir/postgres.log"
        { sfail "PostgreSQL did not start"; return 1; }
    fi
    local start=$SECONDS
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; do
        if (( SECONDS - start >= 30 )); then
            show_log_tail "$pg_dir/postgres.log"
            { sfail "PostgreSQL not ready after 30 s"; return 1; }
        fi
        sleep 0.5
    done
    PGPASSWORD="$PG_PASSWORD" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$PG_PORT" -U aihigress -d postgres \
        -c 'CREATE DATABASE aihigress_test' >/dev/null \
        || { sfail "could not create database aihigress_test"; return 1; }
    POSTGRES_URL="postgres://aihigress:$PG_PASSWORD@127.0.0.1:$PG_PORT/aihigress_test"

    # Redis -------------------------------------------------------------------
    info "starting Redis on 127.0.0.1:$REDIS_PORT"
    REDIS_PIDFILE="$TMP_ROOT/redis.pid"
    if ! redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
            --save '' --appendonly no --daemonize yes \
            --dir "$TMP_ROOT" --pidfile "$REDIS_PIDFILE" --logfile "$TMP_ROOT/redis.log"; then
        show_log_tail "$TMP_ROOT/redis.log"
        { sfail "redis-server did not start"; return 1; }
    fi
    start=$SECONDS
    until [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" == "PONG" ]]; do
        if (( SECONDS - start >= 30 )); then
            show_log_tail "$TMP_ROOT/redis.log"
            { sfail "Redis not ready after 30 s"; return 1; }
        fi
        sleep 0.2
    done
    REDIS_URL_T="redis://127.0.0.1:$REDIS_PORT"
    info "PostgreSQL and Redis are up"
}

# ---------------------------------------------------------------------------
# Dry mode: servers only
# ---------------------------------------------------------------------------
if [[ -n "$DRY_SERVERS" ]]; then
    start_servers || exit 1
    section "Checking servers"
    result="$(PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -tA -v ON_ERROR_STOP=1 "$POSTGRES_URL" -c 'SELECT 1')"
    [[ "$result" == "1" ]] || die "psql SELECT 1 returned '$result'"
    info "psql SELECT 1 -> $result"
    pong="$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping)"
    [[ "$pong" == "PONG" ]] || die "redis-cli ping returned '$pong'"
    info "redis-cli ping -> $pong"
    echo
    echo "AIHIGRESS_TEST_POSTGRES_URL=$POSTGRES_URL"
    echo "AIHIGRESS_TEST_REDIS_URL=$REDIS_URL_T"
    if [[ "$DRY_SERVERS" == "hold" ]]; then
        echo
        info "servers keep running until Ctrl-C (or SIGTERM to pid $$)"
        trap 'exit 0' INT TERM
        while true; do sleep 3600 & HOLD_SLEEP_PID=$!; wait "$HOLD_SLEEP_PID" || true; done
    fi
    exit 0
fi

# ---------------------------------------------------------------------------
# Build once
# ---------------------------------------------------------------------------
section "swift build --build-tests"
swift build --build-tests

# The official Python SDKs drive the gateway in one end-to-end test. PyPI is reachable on CI machines; if the
# install fails anyway the test is skipped rather than the run failed.
section "Official Python SDKs (openai, anthropic, google-genai)"
if python3 -c "import openai, anthropic; from google import genai" 2>/dev/null \
    || timeout 300 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        openai anthropic google-genai; then
    export AIHIGRESS_TEST_REQUIRE_SDKS=1
    info "SDKs available: the SDK end-to-end test runs"
else
    info "could not install the SDKs from PyPI; the SDK end-to-end test will be skipped"
fi

# ---------------------------------------------------------------------------
# Test passes
# ---------------------------------------------------------------------------
EMBEDDED_RESULT="skipped"
EXTERNAL_RESULT="skipped"
overall=0

# Never let a developer's own database / Redis settings leak into the tests.
unset DATABASE_URL REDIS_URL

# One test at a time by default: cooldowns, lockouts, rate windows and crash recovery are timed, and dozens of
# servers started at once on two cores blur those clocks. A serial pass takes a few minutes.
PARALLEL_FLAG="--no-parallel"
if [[ "${AIHIGRESS_TEST_PARALLEL:-}" == "1" ]]; then PARALLEL_FLAG="--parallel"; fi
TEST_TMP="$(mktemp -d -t aihigress-tests.XXXXXXXX)"

if [[ $RUN_EMBEDDED -eq 1 ]]; then
    section "Pass 1/2: embedded (SQLite + in-process shared state)"
    if env -u AIHIGRESS_TEST_POSTGRES_URL -u AIHIGRESS_TEST_REDIS_URL -u AIHIGRESS_TEST_REQUIRE_EXTERNAL \
            AIHIGRESS_TEST_BACKEND=embedded TMPDIR="$TEST_TMP" \
            swift test --skip-build "$PARALLEL_FLAG" "$@"; then
        EMBEDDED_RESULT="PASS"
    else
        EMBEDDED_RESULT="FAIL"; overall=1
    fi
fi

if [[ $RUN_EXTERNAL -eq 1 ]]; then
    # Server start-up failures must not abort the script before the summary.
    if start_servers; then
        section "Pass 2/2: postgres+redis (PostgreSQL 127.0.0.1:$PG_PORT, Redis 127.0.0.1:$REDIS_PORT)"
        if env AIHIGRESS_TEST_BACKEND=external \
                AIHIGRESS_TEST_POSTGRES_URL="$POSTGRES_URL" \
                AIHIGRESS_TEST_REDIS_URL="$REDIS_URL_T" \
                AIHIGRESS_TEST_REQUIRE_EXTERNAL=1 TMPDIR="$TEST_TMP" \
                swift test --skip-build "$PARALLEL_FLAG" "$@"; then
            EXTERNAL_RESULT="PASS"
        else
            EXTERNAL_RESULT="FAIL"; overall=1
        fi
    else
        EXTERNAL_RESULT="FAIL (servers did not start)"; overall=1
    fi
fi

section "Summary"
printf '  %-16s %s\n' "embedded" "$EMBEDDED_RESULT"
printf '  %-16s %s\n' "postgres+redis" "$EXTERNAL_RESULT"
exit "$overall"
