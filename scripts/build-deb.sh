#!/bin/sh
# build-deb.sh: builds the Debian package (debian/) the way Debian builds packages,
# `dpkg-buildpackage -us -uc -b`, on a copy of the source tree in OUT/src, because
# dpkg-buildpackage writes the .deb, .buildinfo and .changes next to the tree it builds:
# they end up in OUT, and the working tree stays clean. Used by `make deb` and by
# tests/systemd/deb_build_test.sh.
# Usage: build-deb.sh OUT [SOURCE]   (JOBS=n sets the build's parallelism, default 2)
set -eu

out=${1:?usage: build-deb.sh OUT [SOURCE]}
src=${2:-$(cd "$(dirname "$0")/.." && pwd)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

rm -rf "$out/src"
rm -f "$out"/arrangd*.deb "$out"/arrangd_*.buildinfo "$out"/arrangd_*.changes
mkdir "$out/src"
# The files git knows (tracked and not ignored, with uncommitted edits), else everything
# but build trees.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z -c -o --exclude-standard |
		tar --null -T - --ignore-failed-read -cf -) 2>/dev/null
else
	tar -C "$src" --exclude='./build*' --exclude=./.git -cf - .
fi | tar -C "$out/src" -xf -

cd "$out/src"
DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b -J"${JOBS:-2}"
cd "$out"
rm -rf "$out/src"
ls "$out"/arrangd_*.deb
