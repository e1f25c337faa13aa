#!/usr/bin/env bash
# The local, Docker-free stack: Apache Kafka (KRaft, single node), Elasticsearch
# (single node, security off) and Redis, all under one git-ignored folder.
#
#   stack.sh up       start what is not running, wait until healthy, print addresses
#   stack.sh down     stop everything this script started
#   stack.sh status   say what runs and where
#   stack.sh fetch    only resolve the jars / zip (used by CI's install step)
#   stack.sh stop-one kafka|elasticsearch|redis    stop one server (the fault tests do)
#   stack.sh start-one kafka|elasticsearch|redis   start it again, on the same data, and
#                                                  wait until it is healthy
#
# `up` is idempotent: a server already healthy is left alone. A server that does
# not become healthy in time makes `up` fail and prints the tail of its log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

STACK_DIR="${NEWSFLOW_STACK_DIR:-$repo/.stack}"
KAFKA_PORT="${NEWSFLOW_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${NEWSFLOW_KAFKA_CONTROLLER_PORT:-9093}"
ES_PORT="${NEWSFLOW_ES_PORT:-9200}"
ES_TRANSPORT_PORT="${NEWSFLOW_ES_TRANSPORT_PORT:-9300}"
ES_HEAP="${NEWSFLOW_ES_HEAP:-1g}"
REDIS_PORT="${NEWSFLOW_REDIS_PORT:-6379}"
# Elasticsearch refuses to run as root; when we are root it runs as this user.
ES_USER="${NEWSFLOW_ES_USER:-newsflow}"
STARTUP_TIMEOUT="${NEWSFLOW_STARTUP_TIMEOUT:-120}"

pom="$here/pom.xml"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
es_version="$(sed -n 's:.*<elasticsearch.version>\(.*\)</elasticsearch.version>.*:\1:p' "$pom")"

run_dir="$STACK_DIR/run"
log_dir="$STACK_DIR/logs"
kafka_home="$STACK_DIR/kafka"
kafka_libs="$kafka_home/libs-$kafka_version"
es_home="$STACK_DIR/elasticsearch/elasticsearch-$es_version"
redis_home="$STACK_DIR/redis"

java17="${JAVA_HOME:-}"
if [[ -z "$java17" ]]; then
  java17="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
fi

say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  # wait_for NAME LOGFILE CHECK-COMMAND...
  local name="$1" log="$2"; shift 2
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until "$@"; do
    if (( SECONDS > deadline )); then
      printf 'stack: %s did not become healthy within %ss; last lines of %s:\n' "$name" "$STARTUP_TIMEOUT" "$log" >&2
      tail -n 40 "$log" >&2 || true
      exit 1
    fi
    sleep 1
  done
}

# ---------------------------------------------------------------- fetching
fetch_kafka() {
  if [[ -f "$kafka_libs/.complete" ]]; then return; fi
  say "fetching Kafka $kafka_version jars with Maven (cached in ~/.m2 afterwards)..."
  mkdir -p "$kafka_libs" "$log_dir"
  if ! mvn -B -q -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$kafka_libs" -DincludeScope=runtime >"$log_dir/mvn-kafka.log" 2>&1; then
    tail -n 40 "$log_dir/mvn-kafka.log" >&2
    die "could not resolve the Kafka jars"
  fi
  touch "$kafka_libs/.complete"
}

fetch_elasticsearch() {
  if [[ -f "$es_home/.complete" ]]; then return; fi
  say "fetching Elasticsearch $es_version with Maven (cached in ~/.m2 afterwards)..."
  local downloads="$STACK_DIR/downloads"
  mkdir -p "$downloads" "$log_dir" "$STACK_DIR/elasticsearch"
  local zip="$downloads/elasticsearch-$es_version.zip"
  if [[ ! -f "$zip" ]]; then
    if ! mvn -B -q -f "$pom" dependency:copy \
        -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$es_version:zip" \
        -DoutputDirectory="$downloads" >"$log_dir/mvn-es.log" 2>&1; then
      tail -n 40 "$log_dir/mvn-es.log" >&2
      die "could not resolve the Elasticsearch zip"
    fi
  fi
  rm -rf "$es_home"
  unzip -q "$zip" -d "$STACK_DIR/elasticsearch"
  touch "$es_home/.complete"
}

# ---------------------------------------------------------------- kafka
kafka_pid="$run_dir/kafka.pid"
kafka_log="$log_dir/kafka.log"

kafka_healthy() {
  pid_alive "$kafka_pid" && port_open "$KAFKA_PORT" \
    && grep -q "Kafka Server started" "$kafka_log" 2>/dev/null
}

# Start the broker once; 0 when healthy, 2 when a port was busy, 1 otherwise.
kafka_start_once() {
  local java_opts="$1" conf="$2"
  : >"$kafka_log"
  nohup "$java17/bin/java" $java_opts -Dlog4j2.configurationFile="$kafka_home/log4j2.yaml" \
    -cp "$kafka_libs/*" kafka.Kafka "$conf" >>"$kafka_log" 2>&1 &
  echo $! >"$kafka_pid"
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until kafka_healthy; do
    if grep -q "Address already in use" "$kafka_log" 2>/dev/null; then return 2; fi
    if ! pid_alive "$kafka_pid" || (( SECONDS > deadline )); then return 1; fi
    sleep 1
  done
}

kafka_up() {
  if pid_alive "$kafka_pid"; then
    wait_for kafka "$kafka_log" kafka_healthy
    say "kafka          already running   127.0.0.1:$KAFKA_PORT"
    return
  fi
  fetch_kafka
  local data="$kafka_home/data" conf="$kafka_home/server.properties"
  mkdir -p "$data" "$run_dir" "$log_dir"
  cat >"$conf" <<EOF
# Generated by deploy/local/stack.sh: single-node KRaft broker + controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# Newsflow keeps its messages a week by default; operators tune per topic.
log.retention.hours=168
EOF
  cat >"$kafka_home/log4j2.yaml" <<EOF
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: WARN
      - name: org.apache.kafka.server
        level: INFO
EOF
  local java_opts="-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true"
  if [[ ! -f "$data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$("$java17/bin/java" -cp "$kafka_libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    "$java17/bin/java" $java_opts -Dlog4j2.configurationFile="$kafka_home/log4j2.yaml" \
      -cp "$kafka_libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$conf" \
      >"$log_dir/kafka-format.log" 2>&1 || { cat "$log_dir/kafka-format.log" >&2; die "kafka storage format failed"; }
  fi
  # A restart right after a stop (stack.sh start-one kafka) can find a listener
  # port still held by the sockets of the old process: Kafka then logs "Address
  # already in use" and hangs instead of exiting. Stop it and try again shortly.
  local attempt rc
  for attempt in 1 2 3 4 5 6; do
    rc=0
    kafka_start_once "$java_opts" "$conf" || rc=$?
    if (( rc == 0 )); then break; fi
    if (( rc == 2 && attempt < 6 )); then
      say "kafka: a listener port is still busy; retrying in 5s (attempt $attempt)"
      { echo "--- sockets on the Kafka ports:"; ss -tan 2>/dev/null | grep -E ":($KAFKA_PORT|$KAFKA_CONTROLLER_PORT)\b" || true; } >>"$log_dir/kafka-restarts.log"
      stop_pid kafka "$kafka_pid" >/dev/null
      sleep 5
      continue
    fi
    printf 'stack: kafka did not become healthy within %ss; last lines of %s:\n' "$STARTUP_TIMEOUT" "$kafka_log" >&2
    tail -n 40 "$kafka_log" >&2 || true
    exit 1
  done
  say "kafka          started           127.0.0.1:$KAFKA_PORT   (Kafka $kafka_version, KRaft; log $kafka_log)"
}

# ---------------------------------------------------------------- elasticsearch
es_pid="$run_dir/elasticsearch.pid"
es_log="$log_dir/elasticsearch.log"

es_healthy() {
  curl -fsS "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1
}

ensure_es_user() {
  if [[ "$(id -u)" -ne 0 ]]; then return; fi
  if ! id "$ES_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  fi
}

# Newsflow's analysis plugin (deploy/elasticsearch/plugin: folding, word
# delimiter, light stemmers, edge n-grams, synonyms under newsflow_* names; the
# integ-test zip has no analysis-common module). Built with Maven into
# $STACK_DIR/plugins and installed before the node starts; a no-op when the
# same build is installed already.
es_install_plugin() {
  local log="$log_dir/plugin-install.log"
  if ! NEWSFLOW_STACK_DIR="$STACK_DIR" ES_JAVA_HOME="$java17" \
      bash "$repo/deploy/elasticsearch/build-plugin.sh" install "$es_home" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "could not build or install the Elasticsearch analysis plugin (log $log)"
  fi
}

es_up() {
  if pid_alive "$es_pid"; then
    wait_for elasticsearch "$es_log" es_healthy
    say "elasticsearch  already running   http://127.0.0.1:$ES_PORT"
    return
  fi
  fetch_elasticsearch
  ensure_es_user
  mkdir -p "$log_dir"
  es_install_plugin
  local data="$STACK_DIR/elasticsearch/data" logs="$STACK_DIR/elasticsearch/logs"
  mkdir -p "$data" "$logs" "$run_dir" "$log_dir"
  cat >"$es_home/config/elasticsearch.yml" <<EOF
# Generated by deploy/local/stack.sh: one local node, no security, loopback only.
cluster.name: newsflow-local
node.name: newsflow-1
path.data: $data
path.logs: $logs
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $ES_TRANSPORT_PORT
discovery.type: single-node
xpack.security.enabled: false
# A dev disk can be nearly full; do not turn indices read-only because of it.
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  # English stemming comes from hunspell (the integ-test zip has no
  # analysis-common module). The dictionary (Debian's hunspell-en-us, SCOWL
  # licence) is kept in the repo so docker-compose mounts the very same files.
  mkdir -p "$es_home/config/hunspell"
  cp -r "$repo/deploy/elasticsearch/hunspell/en_US" "$es_home/config/hunspell/"
  cat >"$es_home/config/jvm.options.d/newsflow.options" <<EOF
-Xms$ES_HEAP
-Xmx$ES_HEAP
EOF
  : >"$es_log"
  local runner=()
  if [[ "$(id -u)" -eq 0 ]]; then
    chown -R "$ES_USER" "$STACK_DIR/elasticsearch" "$es_log"
    chmod o+x "$STACK_DIR" 2>/dev/null || true
    runner=(runuser -u "$ES_USER" --)
  fi
  # The integ-test zip bundles no JDK; Elasticsearch 8 runs on the system Java 17.
  nohup "${runner[@]}" env ES_JAVA_HOME="$java17" ES_PATH_CONF="$es_home/config" \
    "$es_home/bin/elasticsearch" >>"$es_log" 2>&1 &
  echo $! >"$es_pid"
  wait_for elasticsearch "$es_log" es_healthy
  say "elasticsearch  started           http://127.0.0.1:$ES_PORT   (Elasticsearch $es_version; log $es_log)"
}

# ---------------------------------------------------------------- redis
redis_pid="$run_dir/redis.pid"
redis_log="$log_dir/redis.log"

redis_healthy() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

redis_up() {
  if pid_alive "$redis_pid"; then
    wait_for redis "$redis_log" redis_healthy
    say "redis          already running   redis://127.0.0.1:$REDIS_PORT"
    return
  fi
  command -v redis-server >/dev/null || die "redis-server is not installed (run: make install)"
  mkdir -p "$redis_home" "$run_dir" "$log_dir"
  # Append-only file on: the registered feed sources live here and must survive
  # a restart (see services/ingestion); the caches and dedup keys carry TTLs.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
    --dir "$redis_home" --pidfile "$redis_pid" --logfile "$redis_log" \
    --appendonly yes --save "" --maxmemory-policy noeviction
  wait_for redis "$redis_log" redis_healthy
  say "redis          started           redis://127.0.0.1:$REDIS_PORT   (log $redis_log)"
}

# ---------------------------------------------------------------- stop
stop_pid() {
  local name="$1" pidfile="$2"
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return; fi
  local pid; pid="$(cat "$pidfile")"
  # Kill the whole tree: runuser/env wrappers sit above the JVM.
  # `pgrep` exits 1 when a process has no children (Kafka's JVM has none): under
  # `set -e -o pipefail` that used to end the script before Kafka was stopped.
  local pids; pids="$pid $( (pgrep -P "$pid" 2>/dev/null || true) | tr '\n' ' ')"
  for p in $pids; do pgrep -P "$p" 2>/dev/null || true; done | while read -r c; do kill -TERM "$c" 2>/dev/null || true; done
  kill -TERM $pids 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS > deadline )); then kill -KILL $pids 2>/dev/null || true; break; fi
    sleep 0.5
  done
  rm -f "$pidfile"
  say "$name stopped"
}

down() {
  if pid_alive "$redis_pid"; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  stop_pid redis "$redis_pid"
  stop_pid elasticsearch "$es_pid"
  stop_pid kafka "$kafka_pid"
}

status() {
  local ok=0
  if kafka_healthy; then say "kafka          up     127.0.0.1:$KAFKA_PORT"; else say "kafka          down"; ok=1; fi
  if es_healthy; then say "elasticsearch  up     http://127.0.0.1:$ES_PORT"; else say "elasticsearch  down"; ok=1; fi
  if redis_healthy; then say "redis          up     redis://127.0.0.1:$REDIS_PORT"; else say "redis          down"; ok=1; fi
  return $ok
}

# One server at a time, for the fault tests (tests/faults) and for operators who
# want to see the pipeline ride out an outage. A restart reuses the server's data
# directory (Kafka's log dirs and cluster id, Elasticsearch's path.data, Redis's
# append-only file), so topics, offsets, indices and keys survive it.
stop_one() {
  case "${1:-}" in
    kafka) stop_pid kafka "$kafka_pid" ;;
    elasticsearch) stop_pid elasticsearch "$es_pid" ;;
    redis)
      if pid_alive "$redis_pid"; then
        redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
      fi
      stop_pid redis "$redis_pid"
      ;;
    *) die "usage: stack.sh stop-one kafka|elasticsearch|redis" ;;
  esac
}

start_one() {
  case "${1:-}" in
    kafka) kafka_up ;;
    elasticsearch) es_up ;;
    redis) redis_up ;;
    *) die "usage: stack.sh start-one kafka|elasticsearch|redis" ;;
  esac
}

case "${1:-}" in
  stop-one) stop_one "${2:-}" ;;
  start-one) start_one "${2:-}" ;;
  up)
    redis_up
    es_up
    kafka_up
    ;;
  down) down ;;
  status) status ;;
  fetch) fetch_kafka; fetch_elasticsearch ;;
  *) die "usage: stack.sh up|down|status|fetch|stop-one NAME|start-one NAME" ;;
esac
