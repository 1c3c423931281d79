#!/usr/bin/env bash
# ctest entry points (label: browser), against the cercle-server given in CERCLE_SERVER:
#   ctest.sh prepare   Debian's Chromium if missing, dependencies, web/dist and the node build of the
#                      core (build-node/): the fixture the shards need, run once before them.
#   ctest.sh shard I/N the I-th of N shares of tests/*.test.mjs (node's --test-shard: files in name
#                      order, every N-th). Shares run side by side, each one file at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

prepare() {
  local chromium=${CERCLE_CHROMIUM:-/usr/bin/chromium}
  if [[ ! -x $chromium ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      echo "web: installing Debian's chromium (browser tests)"
      if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
      fi
    else
      echo "web: no Chromium at $chromium: apt-get install chromium" >&2
      exit 1
    fi
  fi
  ./scripts/ensure-build.sh
  npm run build:node
}

case "${1:-}" in
  prepare) prepare ;;
  shard)
    [[ ${2:-} =~ ^[0-9]+/[0-9]+$ ]] || { echo "usage: $0 shard I/N" >&2; exit 2; }
    exec node --experimental-websocket --test --test-concurrency=1 --test-timeout=300000 \
      --test-shard="$2" tests/
    ;;
  *)
    echo "usage: $0 prepare | shard I/N" >&2
    exit 2
    ;;
esac
