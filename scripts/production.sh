#!/usr/bin/env bash
# Production mode on this machine: a Prefect server on PostgreSQL, the `onething` work pool,
# the deployments and two workers (`onething worker`), all on 127.0.0.1.
#
#   scripts/production.sh start     # prints the environment to use the running system
#   scripts/production.sh status
#   scripts/production.sh stop
#
# Settings (environment; defaults in brackets):
#   ONETHING_PG            PostgreSQL server           [postgresql://postgres@127.0.0.1:5432]
#   ONETHING_APP_DB        the cases' database          [onething]
#   ONETHING_PREFECT_DB    Prefect's own database       [onething_prefect]
#   ONETHING_PREFECT_PORT  Prefect API port             [a free port]
#   ONETHING_WORKERS       how many workers             [2]
#   ONETHING_STATE_DIR     pids, logs, env file         [var/production]
#
# The env file (mode 0600) sets ONETHING_ENVIRONMENT=production, ONETHING_SECRET_KEY (a
# secret generated on the first start and kept across restarts; a new one ends every session
# and token) and ONETHING_AUDIT_KEY (the audit chain's HMAC key, generated once and kept: a
# new one makes every earlier event fail verification). See api/README.md, "Threat model",
# for what production needs besides.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.venv/bin"
PG="${ONETHING_PG:-postgresql://postgres@127.0.0.1:5432}"
APP_DB="${ONETHING_APP_DB:-onething}"
PREFECT_DB="${ONETHING_PREFECT_DB:-onething_prefect}"
WORKERS="${ONETHING_WORKERS:-2}"
STATE="${ONETHING_STATE_DIR:-$ROOT/var/production}"
PG_HOSTPART="${PG#postgresql://}"

create_database() {  # create database $1 unless it exists
  "$BIN/python" - "$PG/postgres" "$1" <<'EOF'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (sys.argv[2],)).fetchone():
        conn.execute(f'CREATE DATABASE "{sys.argv[2]}"')
EOF
}

free_port() {
  "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_process() {  # start_process NAME COMMAND...: in the background, pid in $STATE/NAME.pid
  local name="$1"; shift
  nohup "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

stop_process() {  # TERM, then KILL after 10 s, the process whose pid is in $STATE/$1.pid
  local file="$STATE/$1.pid" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

start() {
  mkdir -p "$STATE"
  if [ -f "$STATE/server.pid" ] && kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; then
    echo "production mode is already running (scripts/production.sh stop first)" >&2
    exit 1
  fi
  create_database "$APP_DB"
  create_database "$PREFECT_DB"
  local port="${ONETHING_PREFECT_PORT:-$(free_port)}"
  local secret=""
  [ -f "$STATE/env" ] && secret="$(sed -n 's/^export ONETHING_SECRET_KEY=//p' "$STATE/env")"
  [ -n "$secret" ] || secret="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')"
  local audit_key=""
  [ -f "$STATE/env" ] && audit_key="$(sed -n 's/^export ONETHING_AUDIT_KEY=//p' "$STATE/env")"
  [ -n "$audit_key" ] || audit_key="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')"
  (umask 077 && : >"$STATE/env")
  chmod 600 "$STATE/env"
  cat >"$STATE/env" <<EOF
export ONETHING_ENVIRONMENT=production
export ONETHING_SECRET_KEY=$secret
export ONETHING_AUDIT_KEY=$audit_key
export ONETHING_PREFECT_MODE=server
export ONETHING_DATABASE_URL=postgresql+psycopg://$PG_HOSTPART/$APP_DB
export ONETHING_PREFECT_API_URL=http://127.0.0.1:$port/api
export PREFECT_API_URL=http://127.0.0.1:$port/api
export PREFECT_HOME=$STATE/prefect-home
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_WORKER_QUERY_SECONDS=1
export PREFECT_WORKER_PREFETCH_SECONDS=1
export PREFECT_LOCAL_STORAGE_PATH=$STATE/results
EOF
  # shellcheck disable=SC1091
  source "$STATE/env"
  PREFECT_API_DATABASE_CONNECTION_URL="postgresql+asyncpg://$PG_HOSTPART/$PREFECT_DB" \
    start_process server "$BIN/prefect" server start --host 127.0.0.1 --port "$port"
  for _ in $(seq 240); do
    curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break
    kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null || { tail -20 "$STATE/server.log" >&2; exit 1; }
    sleep 0.5
  done
  curl -sf "http://127.0.0.1:$port/api/health" >/dev/null || { echo "Prefect server did not start" >&2; exit 1; }
  (cd "$ROOT" && "$BIN/python" -c 'from flows.casework.store import init_db, make_engine; init_db(make_engine())')
  (cd "$ROOT" && "$BIN/python" -c 'from flows.worker import deploy; deploy()')
  for i in $(seq "$WORKERS"); do
    (cd "$ROOT" && start_process "worker-$i" "$BIN/onething" worker)
  done
  echo "production mode running: Prefect API http://127.0.0.1:$port/api, $WORKERS workers"
  echo "use it with:  source $STATE/env"
}

status() {
  local name
  for file in "$STATE"/*.pid; do
    [ -f "$file" ] || { echo "not running"; return 0; }
    name="$(basename "$file" .pid)"
    if kill -0 "$(cat "$file")" 2>/dev/null; then echo "$name: running"; else echo "$name: dead"; fi
  done
}

stop() {
  for file in "$STATE"/worker-*.pid; do
    [ -f "$file" ] && stop_process "$(basename "$file" .pid)"
  done
  stop_process server
  echo "production mode stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
