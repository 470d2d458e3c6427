#!/usr/bin/env bash
# The start command of AI Higress Gateway.
#
#   ./scripts/run.sh [serve options]
#
# Installs the missing build dependencies (libhiredis-dev, pkg-config) with apt-get, builds
# the release binary and runs `aihigress serve` from the repository root. Configuration comes
# from the environment; the server itself reads `.env` in the repository root (or the file
# named by AIHIGRESS_ENV_FILE). Build output goes to stderr so stdout carries only the
# server's logs.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

log() { printf '[run.sh] %s\n' "$*" >&2; }

missing=()
if ! dpkg -s libhiredis-dev >/dev/null 2>&1; then missing+=(libhiredis-dev); fi
if ! command -v pkg-config >/dev/null 2>&1; then missing+=(pkg-config); fi
if [[ ${#missing[@]} -gt 0 ]]; then
    SUDO=()
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { log "ERROR: not root and no sudo; install: ${missing[*]}"; exit 1; }
        SUDO=(sudo)
    fi
    log "installing missing packages: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

log "swift build -c release --product aihigress"
swift build -c release --product aihigress >&2

mkdir -p data
if [[ -n "${AIHIGRESS_DATA_DIR:-}" ]]; then mkdir -p "$AIHIGRESS_DATA_DIR"; fi

exec .build/release/aihigress serve "$@"
