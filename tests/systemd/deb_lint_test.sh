#!/bin/sh
# deb_lint_test.sh: builds the Debian package the way `make deb` does
# (scripts/build-deb.sh: dpkg-buildpackage -us -uc -b with debian/), checks it with
# lintian (no error, no warning; overrides only with a written reason and never for the
# tags the package once had), and inspects it with dpkg-deb: control fields, runtime
# dependencies (every shared library the binaries load comes from a package in Depends,
# checked with ldd), file list, compressed man pages, DEP-5 copyright, and maintainer
# scripts made of debhelper's snippets that never call systemctl except for
# daemon-reload. Leaves the package in OUT for deb_lifecycle_test.sh.
# Usage: deb_lint_test.sh OUT SOURCE UNITDIR SYSUSERSDIR TMPFILESDIR
set -u

out=$1 src=$2 unitdir=$3 sysusersdir=$4 tmpfilesdir=$5
# shellcheck source=tests/systemd/common.sh
. "$(dirname "$0")/common.sh"

mkdir -p "$out"
if ! JOBS=${JOBS:-2} nice "$src/scripts/build-deb.sh" "$out" "$src" >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "FAIL: scripts/build-deb.sh failed (log: $out/build.log)" >&2
	exit 1
fi
deb=$(ls "$out"/arrangd_*_*.deb 2>/dev/null)
changes=$(ls "$out"/arrangd_*_*.changes 2>/dev/null)
if [ ! -f "$deb" ] || [ ! -f "$changes" ]; then
	echo "FAIL: expected one arrangd .deb and .changes in $out, got: $deb $changes" >&2
	exit 1
fi
echo "built $(basename "$deb")"
dpkg-deb -I "$deb"

# lintian: the package and its -dbgsym, through the .changes.
lintian --version
if lintian --fail-on error,warning --display-info "$changes" >"$tmp/lintian" 2>&1; then
	echo "lintian: no errors or warnings"
else
	fail "lintian reports errors or warnings"
fi
grep -v 'running with root privileges' "$tmp/lintian"
# What a Debian package must have (copyright, changelog, compressed man pages, a real
# maintainer address, no direct systemctl calls): never overridden.
old_tags='no-copyright-file|no-changelog|debian-changelog-file-missing-or-wrong-name|uncompressed-manual-page|bogus-mail-host|maintainer-script-calls-systemctl'
if grep -Eq "$old_tags" "$tmp/lintian"; then
	fail "lintian: $(grep -E "$old_tags" "$tmp/lintian" | tr '\n' ' ')"
fi
for o in "$src"/debian/*lintian-overrides; do
	[ -f "$o" ] || continue
	grep -Eq "$old_tags" "$o" && fail "$o overrides a tag that must stay fixed"
	# Every override follows a comment giving the reason.
	awk '/^#/ { why = 1; next } /^[[:space:]]*$/ { next }
		{ if (!why) print FILENAME ": no reason for: " $0; why = 0 }' "$o" >"$tmp/noreason"
	[ -s "$tmp/noreason" ] && fail "$(cat "$tmp/noreason")"
done

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
version=$(sed -n 's/^project(arrangd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(field Package)" = arrangd ] || fail "Package is '$(field Package)', want arrangd"
[ "$(field Section)" = net ] || fail "Section is '$(field Section)', want net"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture is '$(field Architecture)'"
case "$(field Version)" in
"$version" | "$version"[+~-]*) ;;
*) fail "Version '$(field Version)' does not match project() version $version (debian/changelog)" ;;
esac
field Maintainer | grep -Eq '^[^<]+ <[^@>]+@[^@>]+\.[a-z]+>$' ||
	fail "Maintainer is not 'name <address>': '$(field Maintainer)'"
field Maintainer | grep -Eqi 'localhost|\.invalid|\.local>' &&
	fail "Maintainer address does not reach anyone: '$(field Maintainer)'"
[ -n "$(field Description)" ] || fail "no Description"
grep -q '^Rules-Requires-Root: no$' "$src/debian/control" || fail "debian/control lacks Rules-Requires-Root: no"
grep -Eq '^Build-Depends:.*debhelper-compat \(= 13\)' "$src/debian/control" ||
	fail "debian/control does not build with debhelper compat 13"

# Files.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/files"
has() { grep -qxF "$1" "$tmp/files" || fail "package lacks $1"; }
has /usr/sbin/arrangd
has /usr/bin/arrangctl
has "$unitdir/arrangd.service"
has "$sysusersdir/arrangd.conf"
has "$tmpfilesdir/arrangd.conf"
has /usr/share/man/man8/arrangd.8.gz
has /usr/share/man/man1/arrangctl.1.gz
has /usr/share/doc/arrangd/copyright
has /usr/share/doc/arrangd/changelog.gz
has /usr/share/doc/arrangd/examples/arrangd.conf.example
grep -q '^/usr/share/doc/arrangd/operations.md' "$tmp/files" || fail "package lacks operations.md"
if grep '^/usr/share/man/' "$tmp/files" | grep -v '/$' | grep -qv '\.gz$'; then
	fail "uncompressed man pages: $(grep '^/usr/share/man/.*[^/]$' "$tmp/files" | grep -v '\.gz$' | tr '\n' ' ')"
fi
if grep -qv -e '^/usr/' -e '^/lib/' -e '^/$' "$tmp/files"; then
	fail "files outside /usr and /lib: $(grep -v -e '^/usr/' -e '^/lib/' -e '^/$' "$tmp/files" | tr '\n' ' ')"
fi
mkdir "$tmp/root"
dpkg-deb -x "$deb" "$tmp/root"
u=$tmp/root$unitdir/arrangd.service
grep -q '^ExecStart=/usr/sbin/arrangd --config /etc/arrangd/arrangd.conf$' "$u" ||
	fail "packaged unit does not run /usr/sbin/arrangd"
grep -q '^ConditionPathExists=/etc/arrangd/arrangd.conf$' "$u" ||
	fail "packaged unit would start before /etc/arrangd/arrangd.conf exists"
head -n 1 "$tmp/root/usr/share/doc/arrangd/copyright" |
	grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
	fail "copyright is not in the machine-readable (DEP-5) format"
for m in man8/arrangd.8.gz man1/arrangctl.1.gz; do
	gzip -t "$tmp/root/usr/share/man/$m" 2>/dev/null || fail "$m is not gzip"
done

# Runtime dependencies.
depends=$(field Depends)
echo "Depends: $depends"
dep_names=$(echo "$depends" | tr ',|' '\n' | sed 's/(.*//; s/:.*//; s/ //g' | grep .)
for p in libc6 libzmq5 libsqlite3-0 libmsgpackc2 libuuid1 libsodium23 libsystemd0 libinih1; do
	echo "$dep_names" | grep -qxF "$p" || fail "Depends lacks $p"
done
# Floors that symbol versions cannot see: SQL features of SQLite 3.35, CURVE/ZAP
# behaviour of ZeroMQ 4.3, libsodium 1.0.18 (debian/control).
for floor in 'libsqlite3-0 (>= 3.35)' 'libzmq5 (>= 4.3.1)' 'libsodium23 (>= 1.0.18)'; do
	echo "$depends" | grep -qF "$floor" || fail "Depends lacks '$floor'"
done
# postinst runs systemd-sysusers.
echo "$depends" | grep -q 'systemd | systemd-standalone-sysusers' ||
	fail "Depends lacks a provider of systemd-sysusers"
# Every library the packaged binaries link directly (DT_NEEDED; ldd resolves the path)
# comes from a package in Depends.
for b in "$tmp/root/usr/sbin/arrangd" "$tmp/root/usr/bin/arrangctl"; do
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

# Maintainer scripts: debhelper's snippets. The user before the directories it owns;
# the unit enabled, started on install and restarted on upgrade through
# deb-systemd-helper/deb-systemd-invoke; systemctl only for daemon-reload.
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst prerm postrm; do
	[ -x "$tmp/control/$s" ] || fail "control archive lacks executable $s"
	sh -n "$tmp/control/$s" || fail "$s: shell syntax error"
done
ctl=$tmp/control
grep -q 'Automatically added by dh_installsysusers' "$ctl/postinst" || fail "postinst lacks dh_installsysusers' snippet"
grep -q 'Automatically added by dh_installtmpfiles' "$ctl/postinst" || fail "postinst lacks dh_installtmpfiles' snippet"
grep -q 'Automatically added by dh_installsystemd' "$ctl/postinst" || fail "postinst lacks dh_installsystemd's snippet"
l_users=$(grep -n 'systemd-sysusers' "$ctl/postinst" | head -n 1 | cut -d: -f1)
l_dirs=$(grep -n 'systemd-tmpfiles' "$ctl/postinst" | head -n 1 | cut -d: -f1)
[ -n "$l_users" ] && [ -n "$l_dirs" ] && [ "$l_users" -lt "$l_dirs" ] ||
	fail "postinst does not create the user (sysusers) before its directories (tmpfiles)"
grep -q "deb-systemd-helper enable 'arrangd.service'" "$ctl/postinst" || fail "postinst does not enable the unit"
grep -q "deb-systemd-invoke \$_dh_action 'arrangd.service'" "$ctl/postinst" ||
	fail "postinst does not start (install) or restart (upgrade) the unit"
grep -q "deb-systemd-invoke stop 'arrangd.service'" "$ctl/prerm" || fail "prerm does not stop the unit"
grep -q "deb-systemd-helper purge 'arrangd.service'" "$ctl/postrm" || fail "postrm does not purge the unit's state"
grep -q 'rm -rf "${DPKG_ROOT:-}/var/lib/arrangd"' "$ctl/postrm" || fail "postrm purge does not remove /var/lib/arrangd"
for s in postinst prerm postrm; do
	# Outside debhelper's sections nothing talks to systemd; inside them systemctl only
	# reloads.
	awk '/^# Automatically added by dh_/ { dh = 1 } /^# End automatically added section/ { dh = 0; next }
		/^[[:space:]]*#/ { next }
		/systemctl|deb-systemd-invoke|deb-systemd-helper/ && !dh { print FILENAME ": outside debhelper: " $0 }
		/systemctl/ && !/systemctl --system daemon-reload/ { print FILENAME ": " $0 }' \
		"$ctl/$s" >"$tmp/direct"
	[ -s "$tmp/direct" ] && fail "$(cat "$tmp/direct")"
done

checks_done "package ok"
