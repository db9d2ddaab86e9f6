#!/bin/sh
# deb_test.sh: builds the Debian package from the build tree the way `make deb` does
# (cpack -G DEB; cpack first runs the "preinstall" target, which rebuilds anything out of
# date, so run it on a built tree) and inspects it with dpkg-deb: control fields, runtime dependencies
# (checked against ldd of the packaged binaries: every shared library they load must
# come from a package named in Depends), file list, maintainer scripts (create the user,
# never start or enable the service).
# Usage: deb_test.sh BUILD UNITDIR SYSUSERSDIR TMPFILESDIR HAVE_ARRANGD HAVE_ARRANGCTL
set -u

build=$1 unitdir=$2 sysusersdir=$3 tmpfilesdir=$4 have_arrangd=$5 have_arrangctl=$6
# shellcheck source=tests/systemd/common.sh
. "$(dirname "$0")/common.sh"

if [ ! -f "$build/CPackConfig.cmake" ]; then
	echo "FAIL: $build/CPackConfig.cmake missing: is include(cmake/packaging.cmake) at the end of CMakeLists.txt?" >&2
	exit 1
fi
if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.out" 2>&1; then
	cat "$tmp/cpack.out" >&2
	echo "FAIL: cpack -G DEB failed" >&2
	exit 1
fi
set -- "$tmp"/out/*.deb
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	echo "FAIL: expected exactly one .deb in $tmp/out, got: $*" >&2
	exit 1
fi
deb=$1
echo "built $(basename "$deb")"
dpkg-deb -I "$deb"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = arrangd ] || fail "Package is '$(field Package)', want arrangd"
[ "$(field Section)" = net ] || fail "Section is '$(field Section)', want net"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture is '$(field Architecture)'"
field Maintainer | grep -q '<.*@.*>' || fail "Maintainer lacks an address: '$(field Maintainer)'"
[ -n "$(field Version)" ] || fail "no Version"
[ -n "$(field Description)" ] || fail "no Description"

# Files.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/files"
has() { grep -qxF "$1" "$tmp/files" || fail "package lacks $1"; }
[ "$have_arrangd" = 1 ] && has /usr/sbin/arrangd
[ "$have_arrangctl" = 1 ] && has /usr/bin/arrangctl
has "$unitdir/arrangd.service"
has "$sysusersdir/arrangd.conf"
has "$tmpfilesdir/arrangd.conf"
has /usr/share/man/man8/arrangd.8
has /usr/share/doc/arrangd/operations.md
if grep -qv -e '^/usr/' -e '^/lib/' -e '^/$' "$tmp/files"; then
	fail "files outside /usr and /lib: $(grep -v -e '^/usr/' -e '^/lib/' -e '^/$' "$tmp/files" | tr '\n' ' ')"
fi
mkdir "$tmp/root"
dpkg-deb -x "$deb" "$tmp/root"
grep -q '^ExecStart=/usr/sbin/arrangd --config /etc/arrangd/arrangd.conf$' \
	"$tmp/root$unitdir/arrangd.service" || fail "packaged unit does not run /usr/sbin/arrangd"

# Runtime dependencies.
depends=$(field Depends)
echo "Depends: $depends"
required=""
[ "$have_arrangctl" = 1 ] && required="libzmq5 libmsgpackc2 libsodium23 libuuid1"
[ "$have_arrangd" = 1 ] &&
	required="libzmq5 libsqlite3-0 libmsgpackc2 libuuid1 libsodium23 libsystemd0 libinih1"
[ -z "$required" ] && echo "note: no binaries in this tree yet; not checking Depends"
dep_names=$(echo "$depends" | tr ',|' '\n' | sed 's/(.*//; s/:.*//; s/ //g' | grep .)
for p in $required libc6; do
	[ -z "$required" ] && break
	echo "$dep_names" | grep -qxF "$p" || fail "Depends lacks $p"
done
# Floors that symbol versions cannot see (cmake/packaging.cmake).
if [ "$have_arrangd" = 1 ]; then
	for floor in 'libsqlite3-0 (>= 3.35)' 'libzmq5 (>= 4.3.1)' 'libsodium23 (>= 1.0.18)'; do
		echo "$depends" | grep -qF "$floor" || fail "Depends lacks '$floor'"
	done
fi
# Every library the packaged binaries link directly (DT_NEEDED; ldd resolves the path)
# comes from a package in Depends.
for b in "$tmp/root/usr/sbin/arrangd" "$tmp/root/usr/bin/arrangctl"; do
	[ -f "$b" ] || continue
	readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$tmp/needed"
	ldd "$b" | awk 'NR == FNR { need[$1] = 1; next }
		$2 == "=>" && $3 ~ /^\// && ($1 in need) { print $3 }' "$tmp/needed" - |
	while read -r lib; do
		pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
		if [ -z "$pkg" ]; then
			echo "$(basename "$b") loads $lib, which no installed package owns"
		elif ! echo "$dep_names" | grep -qxF "$pkg"; then
			echo "$(basename "$b") loads $lib from $pkg, which is not in Depends"
		fi
	done
done >"$tmp/ldd.problems"
if [ -s "$tmp/ldd.problems" ]; then
	while read -r line; do fail "$line"; done <"$tmp/ldd.problems"
fi

# Maintainer scripts.
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst prerm postrm; do
	[ -x "$tmp/control/$s" ] || fail "control archive lacks executable $s"
done
grep -q 'systemd-sysusers' "$tmp/control/postinst" || fail "postinst does not run systemd-sysusers"
grep -q 'systemd-tmpfiles' "$tmp/control/postinst" || fail "postinst does not run systemd-tmpfiles"
grep -q 'daemon-reload' "$tmp/control/postinst" || fail "postinst does not reload systemd"
if grep -Eq 'systemctl[^#]*( start| enable| restart)|deb-systemd-invoke +start' "$tmp/control/postinst"; then
	fail "postinst starts or enables arrangd before it is configured"
fi
for s in postinst prerm postrm; do
	sh -n "$tmp/control/$s" || fail "$s: shell syntax error"
done

# Install and purge in a scratch root (dpkg --root runs the maintainer scripts with
# DPKG_ROOT set, outside a chroot): the user, group and directories must appear, the
# service must not be enabled, and removal must succeed. Needs root for chown.
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null 2>&1; then
	r=$tmp/dpkgroot
	mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/etc" "$r/usr/sbin"
	: >"$r/var/lib/dpkg/status"
	dpk() { dpkg --root="$r" --force-depends --force-script-chrootless --log=/dev/null "$@"; }
	if dpk -i "$deb" >"$tmp/dpkg.out" 2>&1; then
		uid=$(awk -F: '$1 == "arrangd" { print $3 }' "$r/etc/passwd" 2>/dev/null)
		gid=$(awk -F: '$1 == "arrangd" { print $3 }' "$r/etc/group" 2>/dev/null)
		[ -n "$uid" ] || fail "postinst did not create user arrangd"
		[ -n "$gid" ] || fail "postinst did not create group arrangd"
		got=$(stat -c '%a %u %g' "$r/var/lib/arrangd" 2>/dev/null)
		[ "$got" = "700 $uid $gid" ] || fail "/var/lib/arrangd is '$got', want '700 $uid $gid'"
		[ -d "$r/etc/arrangd" ] || fail "postinst did not create /etc/arrangd"
		if [ -n "$(find "$r/etc" -path '*systemd*' -name 'arrangd.service' 2>/dev/null)" ]; then
			fail "installing the package enabled arrangd.service"
		fi
		dpk -P arrangd >>"$tmp/dpkg.out" 2>&1 || fail "dpkg -P arrangd failed"
		[ ! -e "$r/usr/sbin/arrangd" ] || fail "purge left /usr/sbin/arrangd"
		[ ! -e "$r$unitdir/arrangd.service" ] || fail "purge left the unit"
		[ "$fails" -eq 0 ] && echo "ok: dpkg --root install created user and dirs; purge clean"
	else
		fail "dpkg -i into a scratch root failed"
	fi
	[ "$fails" -eq 0 ] || cat "$tmp/dpkg.out" >&2
else
	echo "note: not root or no systemd-sysusers: skipping the scratch-root install"
fi

checks_done "package ok"
