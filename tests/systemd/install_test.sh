#!/bin/sh
# install_test.sh: `cmake --install` of the build tree into a scratch DESTDIR, then checks
# the layout issue 5 asks for: binaries in sbin/bin (and nothing else there), the unit
# (naming the installed arrangd), sysusers.d and tmpfiles.d entries, man pages, the
# operations guide and the example configuration under the doc directory.
# Usage: install_test.sh BUILD SBINDIR BINDIR MANDIR DOCDIR UNITDIR SYSUSERSDIR
#                        TMPFILESDIR HAVE_ARRANGD HAVE_ARRANGCTL SYSTEMD_SRC_DIR
# (directories absolute, as configured; HAVE_*: 1 when the tree builds that binary.)
set -u

build=$1 sbindir=$2 bindir=$3 mandir=$4 docdir=$5 unitdir=$6 sysusersdir=$7
tmpfilesdir=$8 have_arrangd=$9
shift 9
have_arrangctl=$1 src=$2
docs=$src/../docs
# shellcheck source=tests/systemd/common.sh
. "$(dirname "$0")/common.sh"
d=$tmp/dest

if ! DESTDIR=$d cmake --install "$build" >"$tmp/install.out" 2>&1; then
	cat "$tmp/install.out" >&2
	echo "FAIL: cmake --install into DESTDIR failed" >&2
	exit 1
fi

# A file that must exist, be a regular file and be non-empty.
want() {
	if [ ! -f "$d$1" ]; then
		fail "not installed: $1"
	elif [ ! -s "$d$1" ]; then
		fail "installed but empty: $1"
	fi
}
# Installed copy identical to the source.
same() {
	want "$1"
	[ -f "$d$1" ] && ! cmp -s "$2" "$d$1" && fail "$1 differs from $2"
}

# Binaries: exactly the ones this tree builds, executable.
# check_binary HAVE DIR NAME: DIR/NAME installed and executable when the tree builds it;
# $expected is then NAME, else empty.
check_binary() {
	expected=""
	if [ "$1" = 1 ]; then
		want "$2/$3"
		[ -x "$d$2/$3" ] || fail "$2/$3 is not executable"
		expected=$3
	else
		echo "note: tree has no $3 target yet; not checking $2/$3"
	fi
}
check_binary "$have_arrangd" "$sbindir" arrangd
expect_sbin=$expected
check_binary "$have_arrangctl" "$bindir" arrangctl
expect_bin=$expected
got_sbin=$(find "$d$sbindir" -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')
got_bin=$(find "$d$bindir" -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')
[ "$got_sbin" = "$expect_sbin" ] || fail "$sbindir holds '$got_sbin', want '$expect_sbin'"
[ "$got_bin" = "$expect_bin" ] || fail "$bindir holds '$got_bin', want '$expect_bin'"

# systemd integration.
unit=$unitdir/arrangd.service
want "$unit"
if [ -f "$d$unit" ]; then
	sed "s|/usr/sbin/arrangd|$sbindir/arrangd|g" "$src/arrangd.service" >"$tmp/unit.want"
	cmp -s "$tmp/unit.want" "$d$unit" ||
		fail "$unit is not the source unit with Exec paths pointing at $sbindir/arrangd"
	grep -q "^ExecStart=$sbindir/arrangd --config " "$d$unit" ||
		fail "$unit: ExecStart= does not run $sbindir/arrangd"
fi
same "$sysusersdir/arrangd.conf" "$src/arrangd.sysusers"
same "$tmpfilesdir/arrangd.conf" "$src/arrangd.tmpfiles"

# Documentation.
same "$mandir/man8/arrangd.8" "$docs/arrangd.8"
[ -f "$docs/arrangctl.1" ] && same "$mandir/man1/arrangctl.1" "$docs/arrangctl.1"
same "$docdir/operations.md" "$docs/operations.md"
for mon in arrangd.rules.yml arrangd.rules.test.yml arrangd.grafana.json; do
	same "$docdir/monitoring/$mon" "$docs/monitoring/$mon"
done
for ex in arrangd.conf.example members.conf.example; do
	if [ -f "$src/$ex" ]; then
		same "$docdir/examples/$ex" "$src/$ex"
	else
		echo "note: $src/$ex not written yet; not checking it"
	fi
done

# Nothing world-writable, nothing setuid.
bad=$(find "$d" \( -perm -o+w -o -perm -4000 -o -perm -2000 \) ! -type l -print)
[ -z "$bad" ] || fail "world-writable or set-id files installed: $bad"

list_installed() {
	echo "--- installed files:" >&2
	(cd "$d" && find . -type f | sort) >&2
}
checks_done "install layout ok:" list_installed
(cd "$d" && find . -type f | sort)
