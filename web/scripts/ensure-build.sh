#!/usr/bin/env bash
# Installs the web client's dependencies if missing (npm ci, exact versions from package-lock.json)
# and builds web/dist if it is missing or older than its sources. Used by CMake and ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "web: npm ci"
  npm ci --no-audit --no-fund
fi

stale=0
if [[ ! -f dist/index.html ]]; then
  stale=1
elif [[ -n $(find src index.html vite.config.ts tsconfig.json package-lock.json scripts ../proto/cercle.proto ../proto/policy.proto \
                -newer dist/index.html -print -quit 2>/dev/null) ]]; then
  stale=1
fi
if ((stale)); then
  echo "web: npm run build"
  npm run build
fi
