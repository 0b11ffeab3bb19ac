#!/usr/bin/env bash
# Idempotent set-up for Gatehouse: installs what is missing, fast when all is present.
#
#   scripts/setup.sh [--for run|test]     (default: test)
#
# run:  wasm32 target, cargo-leptos, wasm-bindgen-cli (= the locked wasm-bindgen),
#       npm packages in end2end/ (binaryen's wasm-opt for release builds).
# test: all of the above, plus Debian's Chromium for the browser tests.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.10"
MODE="test"

while [ $# -gt 0 ]; do
  case "$1" in
    --for) MODE="${2:-}"; shift 2 ;;
    --for=*) MODE="${1#--for=}"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup: unknown argument '$1' (use --for run|test)" >&2; exit 2 ;;
  esac
done
case "$MODE" in run|test) ;; *) echo "setup: --for must be 'run' or 'test', not '$MODE'" >&2; exit 2 ;; esac

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || die "cargo is not on PATH; install the Rust toolchain with rustup first."
command -v rustup >/dev/null || die "rustup is not on PATH; it is needed to add the wasm32-unknown-unknown target."

say "mode: $MODE"

# --- Rust target for the hydration bundle -----------------------------------------------
# (Output is captured first: `cmd | grep -q` can fail under pipefail when grep exits early.)
has_word() { [[ " $(printf '%s' "$1" | tr '\n' ' ') " == *" $2 "* ]]; }
if has_word "$(rustup target list --installed)" wasm32-unknown-unknown; then
  say "ok: rust target wasm32-unknown-unknown"
else
  say "installing rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- cargo-leptos --------------------------------------------------------------------------
if has_word "$(cargo leptos --version 2>/dev/null || true)" "${CARGO_LEPTOS_VERSION}"; then
  say "ok: cargo-leptos ${CARGO_LEPTOS_VERSION}"
else
  say "installing cargo-leptos ${CARGO_LEPTOS_VERSION} (debug build; 15-35 min on 2 cores, once per machine)"
  # --debug on purpose: ~3x faster to compile, and its own speed does not matter.
  # no_downloads: it must not fetch tools (wasm-bindgen, wasm-opt) from the internet.
  cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked --features no_downloads --debug
fi

# --- wasm-bindgen-cli: must equal the locked wasm-bindgen ------------------------------------
LOCK="$ROOT/Cargo.lock"
[ -f "$LOCK" ] || die "$LOCK is missing; run 'cargo generate-lockfile' in $ROOT first."
WB_VERSION="$(awk '
  $0 == "name = \"wasm-bindgen\"" { found = 1; next }
  found && $1 == "version" { gsub(/"/, "", $3); print $3; exit }
  /^\[\[package\]\]/ { found = 0 }
' "$LOCK")"
[ -n "$WB_VERSION" ] || die "no wasm-bindgen package in $LOCK; is leptos a dependency yet?"
if has_word "$(wasm-bindgen --version 2>/dev/null || true)" "${WB_VERSION}"; then
  say "ok: wasm-bindgen-cli ${WB_VERSION}"
else
  say "installing wasm-bindgen-cli ${WB_VERSION} (a few minutes)"
  # Without --locked: with it this version's install fails.
  cargo install wasm-bindgen-cli --version "${WB_VERSION}"
fi

# --- Debian packages (test only) ---------------------------------------------------------
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}
if [ "$MODE" = "test" ]; then
  if [ -x /usr/bin/chromium ]; then
    say "ok: /usr/bin/chromium"
  else
    say "installing Debian chromium (1-2 min)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
  fi
  # OpenLDAP for the LDAP connector's tests: the package must not configure a system server.
  if [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null; then
    say "ok: slapd and ldap-utils"
  else
    say "installing Debian slapd and ldap-utils (no system server is configured)"
    echo "slapd slapd/no_configuration boolean true" | as_root debconf-set-selections
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slapd ldap-utils
  fi
fi

# --- npm packages in end2end/ (playwright, axe-core, binaryen's wasm-opt) --------------
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (Node.js 20 or newer)."
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js $(node --version) is too old: @playwright/test needs 20 or newer."
E2E="$ROOT/end2end"
if [ ! -d "$E2E/node_modules" ] || [ ! -f "$E2E/node_modules/.package-lock.json" ] \
   || [ "$E2E/package-lock.json" -nt "$E2E/node_modules/.package-lock.json" ]; then
  say "installing npm packages in end2end/ (npm ci)"
  # Never let playwright fetch its own browsers: we use Debian's Chromium.
  (cd "$E2E" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
else
  say "ok: end2end/node_modules"
fi
"$E2E/node_modules/.bin/wasm-opt" --version >/dev/null 2>&1 || die "end2end/node_modules/.bin/wasm-opt does not run; delete end2end/node_modules and retry."

# --- SCIM 2.0 server for the provisioning tests (PyPI scim2-server, in its own venv) ---------
SCIM_VERSION="0.8.3"
SCIM_VENV="$ROOT/.tools/scim"
if [ "$MODE" = "test" ]; then
  if [ -x "$SCIM_VENV/bin/scim2-server" ] \
     && [ "$("$SCIM_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("scim2-server"))' 2>/dev/null)" = "$SCIM_VERSION" ]; then
    say "ok: scim2-server $SCIM_VERSION"
  else
    command -v python3 >/dev/null || die "python3 is needed for the SCIM test server."
    say "installing scim2-server $SCIM_VERSION into .tools/scim (PyPI)"
    python3 -m venv "$SCIM_VENV"
    "$SCIM_VENV/bin/pip" install -q --disable-pip-version-check "scim2-server==$SCIM_VERSION"
  fi
fi

say "done. For release builds put wasm-opt on PATH: export PATH=\"$E2E/node_modules/.bin:\$PATH\""
