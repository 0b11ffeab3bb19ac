#!/usr/bin/env bash
# `make test`: everything a change must pass, and a count of what ran on each backend.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
START=$(date +%s)
step() { printf '\n== %s (at %ss)\n' "$*" "$(( $(date +%s) - START ))"; }
LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT

step "set-up"
scripts/setup.sh --for test

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (server side, all targets)"
cargo clippy --workspace --all-targets -- -D warnings
step "clippy (browser side, wasm32)"
cargo clippy -p app --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests"
SKIP=()
if [ -n "${GATEHOUSE_TEST_POSTGRES_URL:-}" ]; then
  echo "PostgreSQL: $(printf '%s' "$GATEHOUSE_TEST_POSTGRES_URL" | sed -E 's#//([^:/@]+):[^@]*@#//\1:***@#')"
else
  echo "GATEHOUSE_TEST_POSTGRES_URL is not set: the PostgreSQL variants are left out."
  SKIP=(--skip "::postgres::")
fi
cargo test --workspace -- "${SKIP[@]}" 2>&1 | tee "$LOG_DIR/cargo-test.log"

count() { grep -cE "$1" "$LOG_DIR/cargo-test.log" || true; }
SQLITE=$(count '^test [a-z0-9_:]*::sqlite::[a-z0-9_]+ \.\.\. ok$')
POSTGRES=$(count '^test [a-z0-9_:]*::postgres::[a-z0-9_]+ \.\.\. ok$')
ALL_RUST=$(count '^test .* \.\.\. ok$')
OTHER=$(( ALL_RUST - SQLITE - POSTGRES ))

# Browser tests run on the release build, the one people run; `make e2e` runs them on a
# debug build while working. (Running them on both builds took CI to 70 of its 90 minutes.)
step "browser tests on the release build"
cargo leptos build --release
(cd end2end && GATEHOUSE_BIN="../target/release/gatehouse" npx playwright test) 2>&1 | tee "$LOG_DIR/e2e-release.log"
passed=$(sed -nE 's/^ +([0-9]+) passed.*/\1/p' "$LOG_DIR/e2e-release.log" | tail -n 1)
E2E_TOTAL=${passed:-0}

step "summary"
echo "SQLite:     $SQLITE tests passed"
if [ -n "${GATEHOUSE_TEST_POSTGRES_URL:-}" ]; then
  echo "PostgreSQL: $POSTGRES tests passed"
else
  echo "PostgreSQL: not run (set GATEHOUSE_TEST_POSTGRES_URL)"
fi
echo "Other Rust tests (domain, config, pure units, CLI): $OTHER passed"
echo "Browser tests (release build): $E2E_TOTAL passed"
echo "Wall time: $(( $(date +%s) - START ))s"
echo "all: $(( ALL_RUST + E2E_TOTAL )) passed, 0 failed"
