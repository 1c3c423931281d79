#!/usr/bin/env bash
# Runs the README's test command in a fresh Debian 12 root, as root, where nothing but the base
# system is installed: what a bare machine lacks shows here, and not on CI's machine.
# On demand, not in ctest (it downloads the base system and every package the command installs).
#
# usage: tests/bare_debian.sh [ROOT_DIR]   (default /var/tmp/cercle-bare; kept for a second run)
# Needs: root, debootstrap (apt-get install debootstrap), network to Debian's and npm's registries.
# A machine whose egress goes through a proxy with its own CA: set NODE_EXTRA_CA_CERTS; the CAs in
# /usr/local/share/ca-certificates are copied in.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/cercle-bare}

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "apt-get install debootstrap" >&2; exit 2; }

if [[ ! -x $root/bin/bash ]]; then
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
fi
# What the Debian installer writes and debootstrap does not.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi

mounts=(proc sys dev dev/pts dev/shm)
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "$root/${mounts[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in "${mounts[@]}"; do mount --bind "/$m" "$root/$m"; done

rm -rf "$root/work/cercle"
mkdir -p "$root/work"
git clone -q "$repo" "$root/work/cercle"

start=$(date +%s)
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt /bin/bash -c '
    set -e
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      apt-get update -q && apt-get install -y -q ca-certificates && update-ca-certificates
    fi
    cd /work/cercle && ./deploy/dev.sh test'
echo "bare Debian 12: the README's test command passed in $(($(date +%s) - start)) s"
