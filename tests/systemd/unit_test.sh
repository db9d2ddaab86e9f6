#!/bin/sh
# shellcheck disable=SC2016 # $MAINPID is meant literally
# unit_test.sh: checks systemd/arrangd.service and its sysusers.d/tmpfiles.d files.
#   1. `systemd-analyze security --offline=yes` exposure <= MAX (issue 5: 1.5);
#   2. `systemd-analyze verify` prints nothing and exits 0;
#   3. the directives the daemon relies on are present;
#   4. systemd-sysusers and systemd-tmpfiles, run on a scratch root, create the arrangd
#      user/group and /var/lib/arrangd (0700, arrangd) as the unit expects.
# Usage: unit_test.sh SYSTEMD_SRC_DIR MANPAGE VERIFY_BIN MAX
#   VERIFY_BIN: an existing executable put in place of /usr/sbin/arrangd for `verify`,
#   which fails on Exec= paths that do not exist on this machine (the built arrangd when
#   the tree has one, else /bin/true). MANPAGE is made visible through MANPATH because
#   `verify` also checks that Documentation=man:arrangd(8) resolves.
set -u

src=$(cd "$1" && pwd) manpage=$2 verify_bin=$3 max=$4
unit=$src/arrangd.service
# shellcheck source=tests/systemd/common.sh
. "$(dirname "$0")/common.sh"

# 1. Exposure.
if ! systemd-analyze security --offline=yes --no-pager "$unit" >"$tmp/security" 2>&1; then
	cat "$tmp/security" >&2
	fail "systemd-analyze security --offline=yes exited non-zero"
fi
level=$(sed -n 's/.*Overall exposure level for arrangd.service: \([0-9.]*\).*/\1/p' "$tmp/security")
if [ -z "$level" ]; then
	cat "$tmp/security" >&2
	fail "no 'Overall exposure level' line in systemd-analyze security output"
elif awk -v l="$level" -v m="$max" 'BEGIN { exit !(l + 0 > m + 0) }'; then
	grep '✗' "$tmp/security" >&2
	fail "exposure $level > $max (items not satisfied above)"
else
	echo "ok: exposure $level <= $max"
fi

# 2. verify, on a copy whose Exec paths exist here.
mkdir -p "$tmp/verify" "$tmp/man/man8"
sed "s|/usr/sbin/arrangd|$verify_bin|g" "$unit" >"$tmp/verify/arrangd.service"
cp "$manpage" "$tmp/man/man8/arrangd.8"
if MANPATH="$tmp/man" systemd-analyze verify "$tmp/verify/arrangd.service" >"$tmp/verify.out" 2>&1 &&
	[ ! -s "$tmp/verify.out" ]; then
	echo "ok: systemd-analyze verify clean"
else
	cat "$tmp/verify.out" >&2
	fail "systemd-analyze verify not clean"
fi

# 3. Directives the daemon and the operations guide rely on.
for d in 'Type=notify' 'NotifyAccess=main' \
	'ExecStartPre=/usr/sbin/arrangd -n --config /etc/arrangd/arrangd.conf' \
	'ExecStart=/usr/sbin/arrangd --config /etc/arrangd/arrangd.conf' \
	'ExecReload=/bin/kill -HUP $MAINPID' 'WatchdogSec=30s' 'Restart=on-failure' \
	'User=arrangd' 'Group=arrangd' 'StateDirectory=arrangd' 'StateDirectoryMode=0700' \
	'RuntimeDirectory=arrangd' 'RuntimeDirectoryMode=0750' 'ConfigurationDirectory=arrangd' \
	'UMask=0077' 'CapabilityBoundingSet=' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' 'MemoryDenyWriteExecute=yes'; do
	grep -qxF "$d" "$unit" || fail "arrangd.service lacks the line '$d'"
done
if grep -q '^IPAddressDeny=' "$unit"; then
	fail "IPAddressDeny= would cut arrangd off from its peers"
fi

# 4. sysusers.d and tmpfiles.d on a scratch root (never the host's /etc).
root=$tmp/root
mkdir -p "$root/etc" "$root/usr/sbin"
if systemd-sysusers --root="$root" "$src/arrangd.sysusers" >"$tmp/sysusers.out" 2>&1; then
	grep -q '^arrangd:x:[0-9]*:[0-9]*:.*:/var/lib/arrangd:/usr/sbin/nologin$' "$root/etc/passwd" ||
		fail "sysusers did not create user arrangd (home /var/lib/arrangd, nologin)"
	grep -q '^arrangd:x:' "$root/etc/group" || fail "sysusers did not create group arrangd"
else
	cat "$tmp/sysusers.out" >&2
	fail "systemd-sysusers rejected arrangd.sysusers"
fi
if systemd-tmpfiles --root="$root" --create "$src/arrangd.tmpfiles" >"$tmp/tmpfiles.out" 2>&1; then
	uid=$(awk -F: '$1 == "arrangd" { print $3 }' "$root/etc/passwd")
	got=$(stat -c '%a %u' "$root/var/lib/arrangd" 2>/dev/null)
	[ "$got" = "700 $uid" ] || fail "tmpfiles: /var/lib/arrangd is '$got', want '700 $uid'"
	[ -d "$root/etc/arrangd" ] || fail "tmpfiles did not create /etc/arrangd"
else
	cat "$tmp/tmpfiles.out" >&2
	fail "systemd-tmpfiles rejected arrangd.tmpfiles"
fi

checks_done "all unit checks passed"
