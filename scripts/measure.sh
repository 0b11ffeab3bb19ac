#!/usr/bin/env bash
# Figures for closing notes: the browser bundle's size and the idle memory of a server.
# Uses whatever build is in target/ (run `make release` first for release figures).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WASM=target/site/pkg/gatehouse.wasm
[ -f "$WASM" ] || { echo "no $WASM: build first (make release)"; exit 1; }
printf 'wasm: %s bytes raw, %s bytes gzip -9\n' "$(stat -c %s "$WASM")" "$(gzip -9c "$WASM" | wc -c)"
JS=target/site/pkg/gatehouse.js
printf 'js:   %s bytes raw, %s bytes gzip -9\n' "$(stat -c %s "$JS")" "$(gzip -9c "$JS" | wc -c)"
BIN=target/release/gatehouse
[ -x "$BIN" ] || BIN=target/debug/gatehouse
DIR="$(mktemp -d)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
GATEHOUSE_ENV=development GATEHOUSE_DEV_SIGN_IN=true GATEHOUSE_SEED_DEMO=true \
GATEHOUSE_DATABASE_URL="sqlite://$DIR/g.db" GATEHOUSE_DATA_DIR="$DIR" GATEHOUSE_SITE_ROOT=target/site \
GATEHOUSE_BIND="127.0.0.1:$PORT" GATEHOUSE_LOG=warn "$BIN" serve &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 20); do curl -fsS "http://127.0.0.1:$PORT/" >/dev/null; done
sleep 2
printf 'idle memory of %s after 20 page loads: %s KiB resident\n' "$BIN" "$(awk '/VmRSS/ {print $2}' /proc/$PID/status)"
