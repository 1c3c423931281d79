#!/usr/bin/env bash
# ctest entry point (label: browser): dependencies, build, then the browser, keyboard, interop, core
# and size tests against the cercle-server given in CERCLE_SERVER.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CERCLE_CHROMIUM:-/usr/bin/chromium}
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
exec npm run test:browser
