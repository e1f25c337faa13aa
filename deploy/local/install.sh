#!/usr/bin/env bash
# Installs everything Newsflow needs on a fresh Debian machine, idempotently:
# Debian packages (Redis, unzip/curl, Chromium for the
# browser tests), the Python virtualenv with pinned dependencies, and the
# Maven-resolved Kafka jars and Elasticsearch zip. Quick when all is there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
VENV="${NEWSFLOW_VENV:-$repo/.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

# libicu-dev + pkg-config: PyICU (under rigour) builds from source against ICU.
apt_packages=(redis-server redis-tools unzip curl chromium procps libicu-dev pkg-config)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  echo "install: Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a system redis on 6379 at install; the stack runs its own.
  if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
    "${sudo_cmd[@]}" systemctl stop redis-server || true
  fi
  if [[ -x /etc/init.d/redis-server ]]; then "${sudo_cmd[@]}" /etc/init.d/redis-server stop >/dev/null 2>&1 || true; fi
fi

stamp="$VENV/.installed-$(sha256sum "$repo/pyproject.toml" | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "install: Python environment in $VENV"
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e "$repo[dev]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

"$here/stack.sh" fetch
