#!/usr/bin/env bash
# Runs a node script of this folder against cercle-mls-driver, installing the pinned npm
# dependencies from package-lock.json first if they are missing.
#   run.sh <script.mjs> <path to cercle-mls-driver> [args...]
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -d node_modules/ts-mls ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node "$@"
