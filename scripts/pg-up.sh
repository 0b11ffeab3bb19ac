#!/usr/bin/env bash
# Ensures the local PostgreSQL answers on 127.0.0.1:5432, starting the Debian cluster if needed.
set -euo pipefail

HOST=127.0.0.1
PORT=5432
say() { printf '[pg-up] %s\n' "$*"; }

if pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; then
  say "PostgreSQL answers on $HOST:$PORT"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "[pg-up] PostgreSQL is not answering on $HOST:$PORT and no Debian cluster (/etc/postgresql, pg_ctlcluster) is installed to start." >&2
  exit 1
fi

VERSION="$(ls /etc/postgresql | sort -V | tail -n 1)"
say "PostgreSQL is not answering on $HOST:$PORT; starting cluster $VERSION/main"
START=(pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start)
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then START=(sudo "${START[@]}"); fi
"${START[@]}" || say "pg_ctlcluster reported a failure; waiting for the server anyway"

for _ in $(seq 1 60); do
  if pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; then
    say "PostgreSQL answers on $HOST:$PORT"
    exit 0
  fi
  sleep 0.5
done
echo "[pg-up] PostgreSQL $VERSION/main did not answer on $HOST:$PORT within 30 s (see /var/log/postgresql/postgresql-$VERSION-main.log)." >&2
exit 1
