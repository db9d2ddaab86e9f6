#!/bin/sh
# deb_lifecycle_inner.sh: the steps of deb_lifecycle_test.sh, run inside its throw-away
# copy of the machine (chroot, private namespaces, systemctl stand-in). Follows
# docs/operations.md: install (enabled; the start is skipped while unconfigured),
# configure and start, upgrade (restarted with the new version), remove (stopped, the
# replica, key and configuration kept), purge (all of it gone).
# Usage: deb_lifecycle_inner.sh V1.deb V2.deb
set -u

v1=$1 v2=$2
# shellcheck source=tests/systemd/common.sh
. "$(dirname "$0")/common.sh"
step() { echo "--- $*"; }
calls=/run/standin/calls
mark() { mkdir -p /run/standin && : >"$calls"; }
called() { grep -q "$1" "$calls" 2>/dev/null; }
running() { systemctl --quiet is-active arrangd.service >/dev/null; }
wants=/etc/systemd/system/multi-user.target.wants/arrangd.service
dpkg_() {
	if ! DEBIAN_FRONTEND=noninteractive dpkg "$@" >/tmp/dpkg.out 2>&1; then
		cat /tmp/dpkg.out >&2
		fail "dpkg $*"
	fi
}

if dpkg -s arrangd >/dev/null 2>&1; then
	echo "SKIP: arrangd is installed on this machine already"
	exit 77
fi

step "install $(dpkg-deb -f "$v1" Version), unconfigured"
mark
dpkg_ -i "$v1"
getent passwd arrangd >/dev/null || fail "postinst did not create user arrangd"
getent group arrangd >/dev/null || fail "postinst did not create group arrangd"
[ "$(stat -c '%a %U %G' /var/lib/arrangd 2>/dev/null)" = "700 arrangd arrangd" ] ||
	fail "/var/lib/arrangd is '$(stat -c '%a %U %G' /var/lib/arrangd 2>&1)', want 700 arrangd arrangd"
[ -d /etc/arrangd ] || fail "postinst did not create /etc/arrangd"
[ -L "$wants" ] || fail "install did not enable arrangd.service"
called 'start arrangd.service' || fail "install did not start arrangd.service"
called 'condition failed: ConditionPathExists=/etc/arrangd/arrangd.conf' ||
	fail "the start was not skipped for want of /etc/arrangd/arrangd.conf"
running && fail "arrangd runs before it is configured"

step "configure and start (docs/operations.md, set up a region)"
cat >/etc/arrangd/arrangd.conf <<'CONF'
[node]
name = deb-test
organisation = Deb Test
data_dir = /var/lib/arrangd
listen = tcp://127.0.0.1:7400
api = /run/arrangd/api.sock
members = /etc/arrangd/members.conf
CONF
as_arrangd="setpriv --reuid=arrangd --regid=arrangd --init-groups --"
if $as_arrangd arrangd --init --config /etc/arrangd/arrangd.conf >/tmp/init.out 2>&1; then
	grep -v '^[[:space:]]*;*[[:space:]]*endpoint' /tmp/init.out >/etc/arrangd/members.conf
else
	cat /tmp/init.out >&2
	fail "arrangd --init failed"
fi
systemctl start arrangd.service || fail "systemctl start arrangd.service failed"
running || fail "arrangd is not running once configured"
pid1=$(cat /run/standin/arrangd.service.pid 2>/dev/null)
arrangctl --socket /run/arrangd/api.sock status >/tmp/status.out 2>&1 ||
	fail "arrangctl status: $(cat /tmp/status.out)"

step "upgrade to $(dpkg-deb -f "$v2" Version)"
mark
dpkg_ -i "$v2"
[ "$(dpkg-query -W -f='${Version}' arrangd)" = "$(dpkg-deb -f "$v2" Version)" ] ||
	fail "the upgrade did not install $(dpkg-deb -f "$v2" Version)"
called 'restart arrangd.service' || fail "the upgrade did not restart arrangd.service"
called 'stop' && ! called 'restart' && fail "the upgrade stopped arrangd without restarting it"
running || fail "arrangd is not running after the upgrade"
[ "$(cat /run/standin/arrangd.service.pid 2>/dev/null)" != "$pid1" ] ||
	fail "arrangd runs the old process after the upgrade"
arrangctl --socket /run/arrangd/api.sock status >/tmp/status.out 2>&1 ||
	fail "arrangctl status after the upgrade: $(cat /tmp/status.out)"
[ -f /var/lib/arrangd/node.key ] || fail "the upgrade lost the node key"

step "remove"
mark
dpkg_ -r arrangd
called 'stop arrangd.service' || fail "remove did not stop arrangd.service"
running && fail "arrangd still runs after remove"
[ -e /usr/sbin/arrangd ] && fail "remove left /usr/sbin/arrangd"
[ -e /lib/systemd/system/arrangd.service ] && fail "remove left the unit"
[ -f /var/lib/arrangd/node.key ] || fail "remove deleted the node key (only purge may)"
[ -f /etc/arrangd/arrangd.conf ] || fail "remove deleted the configuration (only purge may)"

step "purge"
mark
dpkg_ -P arrangd
[ -e /var/lib/arrangd ] && fail "purge left /var/lib/arrangd"
[ -e /etc/arrangd ] && fail "purge left /etc/arrangd"
[ -e "$wants" ] || [ -L "$wants" ] && fail "purge left the enablement symlink $wants"
dpkg -s arrangd >/dev/null 2>&1 && fail "arrangd is still known to dpkg after purge"

# on failure: what the stand-in was asked to do, and the daemon's log
dump_calls() {
	echo "--- systemctl calls and daemon log" >&2
	cat "$calls" /run/standin/*.log 2>/dev/null >&2
}
checks_done "install, configure, upgrade, remove, purge: ok" dump_calls
