#!/usr/bin/env bash
# Builds Newsflow's Elasticsearch analysis plugin (deploy/elasticsearch/plugin,
# stable plugin API) and installs it into an Elasticsearch home.
#
#   build-plugin.sh build              build the zip if a source is newer; print its path
#   build-plugin.sh install ES_HOME    build if needed, then install it into ES_HOME unless
#                                      the very same files are installed already
#   build-plugin.sh path               print where the zip is (built or not)
#
# Outputs go to $NEWSFLOW_STACK_DIR (default .stack/) only:
#   <stack>/plugins/newsflow-analysis-<version>.zip   the installable zip
#   <stack>/build/elasticsearch-plugin/               Maven's work folders
#   <stack>/logs/plugin-build.log                     Maven's output
# Maven resolves from ~/.m2, so after the first build nothing is downloaded;
# NEWSFLOW_MVN_OFFLINE=1 adds -o to forbid network access altogether.
# Install only while the node is stopped: a running node loads plugins at start.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
src="$here/plugin"
stack_dir="${NEWSFLOW_STACK_DIR:-$repo/.stack}"
plugin_name="newsflow-analysis"
# The parent POM's own <version> (the first one in the file) is the plugin's.
version="$(sed -n 's:^  <version>\(.*\)</version>.*:\1:p' "$src/pom.xml" | head -n 1)"
zip="$stack_dir/plugins/$plugin_name-$version.zip"
build_dir="$stack_dir/build/elasticsearch-plugin"
log="$stack_dir/logs/plugin-build.log"

die() { printf 'build-plugin: %s\n' "$*" >&2; exit 1; }
[[ -n "$version" ]] || die "cannot read the plugin version from $src/pom.xml"

# True when the zip exists and no POM or source file is newer than it.
zip_fresh() {
  [[ -f "$zip" ]] || return 1
  [[ -z "$(find "$src/pom.xml" "$src"/*/pom.xml "$src"/*/src -type f -newer "$zip" -print -quit)" ]]
}

build() {
  if zip_fresh; then return; fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to build the plugin"
  mkdir -p "$(dirname "$zip")" "$(dirname "$log")"
  # One build at a time per stack folder (stack.sh may run twice in parallel).
  if command -v flock >/dev/null; then
    exec 9>"$stack_dir/plugins/.build.lock"
    flock 9
  fi
  if zip_fresh; then return; fi
  # From scratch every time: the annotation processor must see every component
  # to write a complete named_components.json.
  rm -rf "$build_dir"
  local offline=()
  [[ "${NEWSFLOW_MVN_OFFLINE:-0}" == "1" ]] && offline=(-o)
  if ! mvn -B -q "${offline[@]}" -f "$src/pom.xml" -Dnewsflow.build.dir="$build_dir" package >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "the plugin build failed (full log: $log)"
  fi
  cp "$build_dir/$plugin_name/$plugin_name-$version.zip" "$zip.tmp"
  mv "$zip.tmp" "$zip"
}

# True when ES_HOME already has exactly the files of our zip.
installed_same() {
  local dir="$1/plugins/$plugin_name" entry
  [[ -d "$dir" ]] || return 1
  for entry in stable-plugin-descriptor.properties named_components.json "$plugin_name-$version.jar"; do
    [[ -f "$dir/$entry" ]] || return 1
    unzip -p "$zip" "$entry" | cmp -s - "$dir/$entry" || return 1
  done
}

install() {
  local es_home="${1:-}"
  [[ -n "$es_home" && -x "$es_home/bin/elasticsearch-plugin" ]] \
    || die "usage: build-plugin.sh install ES_HOME (no bin/elasticsearch-plugin in '${es_home}')"
  build
  if installed_same "$es_home"; then
    echo "$plugin_name $version already installed in $es_home"
    return
  fi
  # The integ-test zip bundles no JDK: the plugin CLI runs on the system Java.
  if [[ -z "${ES_JAVA_HOME:-}" ]]; then
    ES_JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
    export ES_JAVA_HOME
  fi
  local cli="$es_home/bin/elasticsearch-plugin"
  if [[ -d "$es_home/plugins/$plugin_name" ]]; then
    "$cli" remove --purge "$plugin_name" >/dev/null
  fi
  "$cli" install --batch "file://$zip" >/dev/null
  echo "$plugin_name $version installed in $es_home"
}

case "${1:-}" in
  build) build; echo "$zip" ;;
  install) install "${2:-}" ;;
  path) echo "$zip" ;;
  *) die "usage: build-plugin.sh build | install ES_HOME | path" ;;
esac
