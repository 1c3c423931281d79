#!/usr/bin/env bash
# Developer entry point, used by the README's two commands and by CI.
#   deploy/dev.sh serve   install what is missing, build, run the server on http://127.0.0.1:8080/
#   deploy/dev.sh test    install what is missing, build, run every test
#   deploy/dev.sh build   install what is missing and build only
# Run as root on Debian bookworm (it calls apt-get when a package is missing).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${CERCLE_JOBS:-2}

debian_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsodium-dev libprotobuf-dev protobuf-compiler librocksdb-dev libtomlplusplus-dev libicu-dev
  libcli11-dev
  libssl-dev openssl
  python3  # tests/function_lengths.py, a ctest
  libgtest-dev libgmock-dev libbenchmark-dev chromium
  systemd  # systemd-analyze, for the deploy tests
)

install_missing() {
  local missing=()
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js for the web client and the MLS interop test: Debian's (with npm), unless one is
  # already installed; use_recent_node replaces it when it is older than the web needs.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
      echo "missing packages need root: run as root, or install them: apt-get install ${missing[*]}" >&2
      exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# The web toolchain and tests need Node.js 20.19 or newer (Vite, WebSocket in node, the test
# runner's flags); Debian 12 ships 18. Then the official build, pinned, comes from the npm registry
# (package node-linux-<arch>) into .tools/, first on PATH for the build and the tests.
node_version=20.19.5
node_recent() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
           process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}
use_recent_node() {
  node_recent && return
  local arch
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "Node.js 20.19 or newer is needed; install it for $(uname -m)" >&2; exit 1 ;;
  esac
  local dir="$root/.tools/node-$node_version"
  if [[ ! -x $dir/node_modules/node-linux-$arch/bin/node ]]; then
    echo "Node.js $(node --version 2>/dev/null) is too old: node-linux-$arch@$node_version from npm"
    npm install --silent --no-save --no-package-lock --prefix "$dir" "node-linux-$arch@$node_version"
  fi
  export PATH="$dir/node_modules/node-linux-$arch/bin:$PATH"
  node_recent || { echo "Node.js $node_version did not install" >&2; exit 1; }
}

# build [cmake options...] [-- targets...]: configures build/ and builds (everything by default).
build() {
  local options=() targets=()
  while (($#)) && [[ $1 != -- ]]; do options+=("$1"); shift; done
  (($#)) && shift
  targets=("$@")
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${options[@]}"
  cmake --build build -j"$jobs" ${targets[@]:+--target "${targets[@]}"}
}

case "${1:-}" in
  build)
    install_missing
    use_recent_node
    build -DCERCLE_BENCH=ON
    ;;
  serve)
    install_missing
    use_recent_node
    # Only what serving needs: the relay, its admin tool and the web client.
    build -- cercle-server cercle-admin cercle_web
    mkdir -p data
    exec build/bin/cercle-server --data ./data --web ./web/dist --listen 127.0.0.1:8080 "${@:2}"
    ;;
  test)
    install_missing
    use_recent_node
    # Every test, not the benchmarks (measured with `deploy/dev.sh build`, see bench/README.md).
    build -DCERCLE_BENCH=OFF
    ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
    ;;
  *)
    echo "usage: $0 serve|test|build" >&2
    exit 2
    ;;
esac
