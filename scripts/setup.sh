#!/usr/bin/env bash
# Installs or builds what the local stack and the tests need, once:
#   - redis-server and redis-cli, from the system packages (apt);
#   - daprd, placement and scheduler of the pinned Dapr version, built from
#     the Go module registry into a cache outside the clone (runtime/build.sh);
#   - the offline Kubernetes checks' Python tools, in a virtualenv in the
#     same cache (only with `--checks`).
# Safe to run again: each step is skipped when its result is present.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ORDER_OUTBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/order-outbox}

say() { printf 'setup: %s\n' "$*" >&2; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  say "installing redis-server from the system packages"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >&2
  $sudo apt-get install -y -q --no-install-recommends redis-server >&2
fi

for tool in go cargo curl; do
  command -v "$tool" >/dev/null || { say "$tool is required and not installed"; exit 1; }
done

say "Dapr runtime: $("$root/runtime/build.sh")"

if [ "${1:-}" = "--checks" ]; then
  requirements="$root/tests/k8s/requirements.txt"
  venv="$cache/venv-$(sha256sum "$requirements" | cut -c1-12)"
  if [ ! -x "$venv/bin/pytest" ]; then
    say "installing the offline Kubernetes checks' tools into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
  fi
  echo "$venv"
fi
