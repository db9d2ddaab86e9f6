#!/bin/sh
# Install the Debian packages arrangd needs to build, test and run its demo.
# Installs only what is missing; uses sudo only when not root. With the argument
# 'bench', also what the benchmarks use.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
libzmq3-dev libsqlite3-dev libmsgpack-dev uuid-dev libsodium-dev
libsystemd-dev libinih-dev libcmocka-dev libjansson-dev sqlite3 systemd iproute2 procps
dpkg-dev file gnuplot-nox jq faketime python3 clang-format prometheus"
# Building and checking the Debian package (`make deb`; the systemd_deb tests in make check).
PKGS="$PKGS debhelper lintian"
# `make bench` counts instructions with callgrind: install-deps.sh bench
[ "${1:-}" = bench ] && PKGS="$PKGS valgrind"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
