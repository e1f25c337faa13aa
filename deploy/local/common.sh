# shellcheck shell=bash
# shellcheck disable=SC2154  # log_dir is the caller's (see below)
# Shell functions shared by the local stack scripts (sourced, never run):
# deploy/local/cluster.sh uses it today; stack.sh keeps its own copies of the
# same functions until the lead switches it over, which is why the names and
# the globals they read are stack.sh's own:
#
#   repo, pom, kafka_version, es_version, java17   set here on sourcing
#   STACK_DIR        the caller's state folder (pids, logs, data)
#   CACHE_DIR        where fetched jars/zips live; default $repo/.stack, the
#                    folder stack.sh fills, so a cluster never fetches twice
#   log_dir          the caller's log folder
#   STARTUP_TIMEOUT  seconds a server may take to become healthy
#   ES_USER          the unprivileged user Elasticsearch runs as under root
#   NF_NAME          the prefix of error messages ("stack", "cluster")
#
# Maven resolves from ~/.m2, so nothing is downloaded after the first fetch.

common_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$common_here/../.." && pwd)"
pom="$common_here/pom.xml"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
es_version="$(sed -n 's:.*<elasticsearch.version>\(.*\)</elasticsearch.version>.*:\1:p' "$pom")"
CACHE_DIR="${CACHE_DIR:-${NEWSFLOW_CACHE_DIR:-$repo/.stack}}"
STARTUP_TIMEOUT="${STARTUP_TIMEOUT:-${NEWSFLOW_STARTUP_TIMEOUT:-120}}"
ES_USER="${ES_USER:-${NEWSFLOW_ES_USER:-newsflow}}"
NF_NAME="${NF_NAME:-stack}"

# Kafka 4 and Elasticsearch 8 both run on the system Java 17 (the integ-test
# Elasticsearch zip bundles no JDK).
java17="${JAVA_HOME:-}"
if [[ -z "$java17" ]]; then
  java17="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
fi

# The Kafka jars live in the shared cache, read-only: every node of every
# profile runs from the same class path.
kafka_libs="$CACHE_DIR/kafka/libs-$kafka_version"

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$NF_NAME" "$*" >&2; exit 1; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  # wait_for NAME LOGFILE CHECK-COMMAND...
  local name="$1" log="$2"; shift 2
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until "$@"; do
    if (( SECONDS > deadline )); then
      printf '%s: %s did not become healthy within %ss; last lines of %s:\n' \
        "$NF_NAME" "$name" "$STARTUP_TIMEOUT" "$log" >&2
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

# The Elasticsearch zip, fetched once into the cache; prints its path.
fetch_es_zip() {
  local downloads="$CACHE_DIR/downloads"
  local zip="$downloads/elasticsearch-$es_version.zip"
  if [[ ! -f "$zip" ]]; then
    say "fetching Elasticsearch $es_version with Maven (cached in ~/.m2 afterwards)..." >&2
    mkdir -p "$downloads" "$log_dir"
    if ! mvn -B -q -f "$pom" dependency:copy \
        -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$es_version:zip" \
        -DoutputDirectory="$downloads" >"$log_dir/mvn-es.log" 2>&1; then
      tail -n 40 "$log_dir/mvn-es.log" >&2
      die "could not resolve the Elasticsearch zip"
    fi
  fi
  printf '%s\n' "$zip"
}

# unpack_es ES_HOME: an Elasticsearch home unpacked from the cached zip
# (ES_HOME must end in elasticsearch-$es_version); a no-op when complete.
unpack_es() {
  local home="$1" zip
  if [[ -f "$home/.complete" ]]; then return; fi
  zip="$(fetch_es_zip)"
  rm -rf "$home"
  mkdir -p "$(dirname "$home")"
  unzip -q "$zip" -d "$(dirname "$home")"
  [[ -x "$home/bin/elasticsearch" ]] || die "unpacking $zip did not give $home"
  touch "$home/.complete"
}

# ---------------------------------------------------------------- kafka
# write_kafka_log4j FILE: INFO for Kafka's own lines (the health checks grep
# "Kafka Server started"), WARN for the clients' chatter.
write_kafka_log4j() {
  cat >"$1" <<EOF
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
}

kafka_random_uuid() {
  "$java17/bin/java" -cp "$kafka_libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1
}

# ---------------------------------------------------------------- elasticsearch
ensure_es_user() {
  if [[ "$(id -u)" -ne 0 ]]; then return; fi
  if ! id "$ES_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  fi
}

# es_install_plugin ES_HOME: Newsflow's analysis plugin (deploy/elasticsearch/
# plugin), built into the shared cache ($CACHE_DIR/plugins) once and installed
# into this home unless the same build is there already. Only while no node of
# that home runs: a node loads its plugins at start.
es_install_plugin() {
  local home="$1" log="$log_dir/plugin-install.log"
  mkdir -p "$log_dir"
  if ! NEWSFLOW_STACK_DIR="$CACHE_DIR" ES_JAVA_HOME="$java17" \
      bash "$repo/deploy/elasticsearch/build-plugin.sh" install "$home" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "could not build or install the Elasticsearch analysis plugin (log $log)"
  fi
}

# es_config_dir ES_HOME CONF_DIR: a node's own config folder (ES_PATH_CONF),
# a copy of the home's defaults plus the hunspell dictionary the index
# template's English analyzer loads (deploy/elasticsearch/hunspell).
es_config_dir() {
  local home="$1" conf="$2"
  mkdir -p "$conf"
  cp -r "$home/config/." "$conf/"
  mkdir -p "$conf/hunspell"
  cp -r "$repo/deploy/elasticsearch/hunspell/en_US" "$conf/hunspell/"
}

# es_runner: the command prefix that runs Elasticsearch as $ES_USER when we are
# root (it refuses to run as root), into the global array `runner`.
# shellcheck disable=SC2034  # `runner` is read by the caller
es_runner() {
  runner=()
  if [[ "$(id -u)" -eq 0 ]]; then
    runner=(runuser -u "$ES_USER" --)
  fi
}

# ---------------------------------------------------------------- stopping
# The pids of a process and of its children and grandchildren: runuser/env
# wrappers sit above Elasticsearch's JVM. `pgrep` exits 1 for a process without
# children (Kafka's JVM has none), hence the `|| true`s under `set -e -o pipefail`.
pid_tree() {
  local pid="$1" kids grand
  kids="$( (pgrep -P "$pid" 2>/dev/null || true) | tr '\n' ' ')"
  grand=""
  for k in $kids; do grand+="$( (pgrep -P "$k" 2>/dev/null || true) | tr '\n' ' ')"; done
  printf '%s %s %s\n' "$pid" "$kids" "$grand"
}

stop_pid() {
  local name="$1" pidfile="$2"
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return; fi
  local pid pids; pid="$(cat "$pidfile")"
  pids="$(pid_tree "$pid")"
  # shellcheck disable=SC2086  # word splitting of the pid list is intended
  kill -TERM $pids 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    # shellcheck disable=SC2086
    if (( SECONDS > deadline )); then kill -KILL $pids 2>/dev/null || true; break; fi
    sleep 0.5
  done
  rm -f "$pidfile"
  say "$name stopped"
}

# kill9_pid NAME PIDFILE: the crash the fault tests rehearse; no shutdown hook
# runs, nothing is flushed. The pid file is removed so that `start-one` starts
# the server again on the same data.
kill9_pid() {
  local name="$1" pidfile="$2"
  pid_alive "$pidfile" || die "$name is not running"
  local pid pids; pid="$(cat "$pidfile")"
  pids="$(pid_tree "$pid")"
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
  rm -f "$pidfile"
  say "$name killed (SIGKILL)"
}
