#!/usr/bin/env bash
# The Newsflow services on this machine, without Docker: the ingestion API,
# the search API + UI, the feed poller, and the stream workers (one per stage unless told
# otherwise, e.g. `ENTITIES_WORKERS=2 services.sh start`; relabel always has one).
#
#   services.sh start    start what is not running; wait until each answers
#   services.sh stop     SIGTERM every service (workers finish their batch)
#   services.sh status   what runs, with pids and ports
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
STACK_DIR="${NEWSFLOW_STACK_DIR:-$repo/.stack}"
VENV="${NEWSFLOW_VENV:-$repo/.venv}"
run_dir="$STACK_DIR/run"
log_dir="$STACK_DIR/logs"
newsflow="$VENV/bin/newsflow"
# The one port table (shared/runtime/ports.py), as SEARCH_PORT=8000 ... lines.
eval "$("$newsflow" ports --shell)"
INGESTION_PORT="${NEWSFLOW_INGESTION_PORT:-$INGESTION_PORT}"
SEARCH_PORT="${NEWSFLOW_SEARCH_PORT:-$SEARCH_PORT}"
CLEANING_WORKERS="${CLEANING_WORKERS:-1}"
ENTITIES_WORKERS="${ENTITIES_WORKERS:-1}"
STORIES_WORKERS="${STORIES_WORKERS:-1}"
INDEXER_WORKERS="${INDEXER_WORKERS:-1}"
# identities.merged has one partition (merges apply in order): one relabel worker.
RELABEL_WORKERS=1
MATCHER_WORKERS="${MATCHER_WORKERS:-1}"
WEBHOOKS_WORKERS="${WEBHOOKS_WORKERS:-1}"
mkdir -p "$run_dir" "$log_dir"

# A local API key, made once, so that `make run` works with no configuration.
key_file="$STACK_DIR/api-key"
if [[ -z "${NEWSFLOW_INGESTION_API_KEYS:-}" ]]; then
  [[ -f "$key_file" ]] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$key_file")
  export NEWSFLOW_INGESTION_API_KEYS
  NEWSFLOW_INGESTION_API_KEYS="$(cat "$key_file")"
fi

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_http() {
  local name="$1" url="$2" log="$3" deadline=$((SECONDS + 120))
  until curl -fsS "$url" >/dev/null 2>&1; do
    if (( SECONDS > deadline )); then
      echo "services: $name did not answer $url within 120s; last lines of $log:" >&2
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

start_one() {
  # start_one NAME HEALTH-URL COMMAND...
  local name="$1" url="$2"; shift 2
  local pidfile="$run_dir/$name.pid" log="$log_dir/$name.log"
  if pid_alive "$pidfile"; then
    echo "$name already running (pid $(cat "$pidfile"))"
    return
  fi
  nohup "$@" >>"$log" 2>&1 &
  echo $! >"$pidfile"
  wait_http "$name" "$url" "$log"
  echo "$name started (pid $(cat "$pidfile"); log $log)"
}

start() {
  "$newsflow" topics create >/dev/null
  start_one ingestion "http://127.0.0.1:$INGESTION_PORT/healthz" \
    "$newsflow" api ingestion --port "$INGESTION_PORT"
  start_one search "http://127.0.0.1:$SEARCH_PORT/healthz" \
    "$newsflow" api search --port "$SEARCH_PORT"
  start_one poller "http://127.0.0.1:$POLLER_PORT/healthz" \
    "$newsflow" poller --web-port "$POLLER_PORT"
  local stage count i port base
  for stage in cleaning entities stories indexer relabel matcher webhooks; do
    case "$stage" in
      cleaning) count=$CLEANING_WORKERS; base=$CLEANING_PORT ;;
      entities) count=$ENTITIES_WORKERS; base=$ENTITIES_PORT ;;
      stories) count=$STORIES_WORKERS; base=$STORIES_PORT ;;
      indexer) count=$INDEXER_WORKERS; base=$INDEXER_PORT ;;
      relabel) count=$RELABEL_WORKERS; base=$RELABEL_PORT ;;
      matcher) count=$MATCHER_WORKERS; base=$MATCHER_PORT ;;
      webhooks) count=$WEBHOOKS_WORKERS; base=$WEBHOOKS_PORT ;;
    esac
    # Worker n of a stage: its port in the table + 10 * (n - 1).
    for ((i = 1; i <= count; i++)); do
      port=$((base + 10 * (i - 1)))
      start_one "$stage-$i" "http://127.0.0.1:$port/healthz" \
        "$newsflow" worker "$stage" --web-port "$port"
    done
  done
}

stop() {
  local pidfile pid
  for pidfile in "$run_dir"/{ingestion,search,poller,cleaning-*,entities-*,stories-*,indexer-*,relabel-*,matcher-*,webhooks-*}.pid; do
    [[ -f "$pidfile" ]] || continue
    if pid_alive "$pidfile"; then
      pid="$(cat "$pidfile")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
      echo "$(basename "$pidfile" .pid) stopped"
    fi
    rm -f "$pidfile"
  done
}

status() {
  local pidfile
  for pidfile in "$run_dir"/{ingestion,search,poller,cleaning-*,entities-*,stories-*,indexer-*,relabel-*,matcher-*,webhooks-*}.pid; do
    [[ -f "$pidfile" ]] || continue
    if pid_alive "$pidfile"; then echo "$(basename "$pidfile" .pid)  up  pid $(cat "$pidfile")"
    else echo "$(basename "$pidfile" .pid)  down"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: services.sh start|stop|status" >&2; exit 2 ;;
esac
