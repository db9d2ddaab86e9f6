#!/bin/sh
# deb_lifecycle_test.sh: installs, configures, upgrades, removes and purges the package
# built by deb_lint_test.sh with the real dpkg and the package's real maintainer
# scripts, on a throw-away copy of this machine: a private mount, network and PID
# namespace with an overlay over / (writes go to a tmpfs; the machine itself is never
# changed) and chroot into it. systemd is not PID 1 here, so /usr/bin/systemctl inside
# the copy is a stand-in (deb_systemctl_standin.sh) that starts and stops the unit's
# ExecStartPre=/ExecStart= as its User= and honours its ConditionPathExists=; everything
# else (dpkg, deb-systemd-helper, deb-systemd-invoke, systemd-sysusers, systemd-tmpfiles)
# is the real thing. Skipped (77) without root, unshare or overlayfs.
# Usage: deb_lifecycle_test.sh OUT   (OUT holds arrangd_*.deb)
set -u

out=$1
dir=$(cd "$(dirname "$0")" && pwd)
deb=$(ls "$out"/arrangd_*_*.deb 2>/dev/null)
if [ ! -f "$deb" ]; then
	echo "FAIL: no arrangd .deb in $out (deb_lint_test.sh builds it)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ] || ! unshare --mount --net --pid --fork --mount-proc true 2>/dev/null; then
	echo "SKIP: needs root and mount, network and PID namespaces (unshare)"
	exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# The upgrade: the same package with the version raised, as a new release would be.
mkdir "$tmp/v2"
dpkg-deb -R "$deb" "$tmp/v2"
v1=$(dpkg-deb -f "$deb" Version)
sed -i "s/^Version: .*/Version: $v1+1/" "$tmp/v2/DEBIAN/control"
dpkg-deb --root-owner-group -b "$tmp/v2" "$tmp/arrangd_v2.deb" >/dev/null || exit 1
cp "$deb" "$tmp/arrangd_v1.deb"
cp "$dir/deb_systemctl_standin.sh" "$dir/deb_lifecycle_inner.sh" "$dir/common.sh" "$tmp/"
mkdir "$tmp/ns"

unshare --mount --net --pid --fork --mount-proc sh -eu -c '
	t=$1
	mount -t tmpfs -o mode=0755 tmpfs "$t" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
	mkdir "$t/upper" "$t/work" "$t/root"
	if ! mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/root"; then
		echo "SKIP: no overlayfs"
		exit 77
	fi
	r=$t/root
	mount -t proc proc "$r/proc"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$r/run"
	mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
	mkdir -p "$r/run/systemd/system" "$r/run/lock"
	ip link set lo up
	# A clean machine lets packages start services (containers often forbid it).
	rm -f "$r/usr/sbin/policy-rc.d"
	# Rebuilding the man page index on every step only costs time.
	rm -f "$r/var/lib/man-db/auto-update"
	cp "$0/deb_systemctl_standin.sh" "$r/usr/bin/systemctl"
	chmod 0755 "$r/usr/bin/systemctl"
	cp "$0/arrangd_v1.deb" "$0/arrangd_v2.deb" "$0/deb_lifecycle_inner.sh" "$0/common.sh" "$r/tmp/"
	exec chroot "$r" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		sh /tmp/deb_lifecycle_inner.sh /tmp/arrangd_v1.deb /tmp/arrangd_v2.deb
' "$tmp" "$tmp/ns"
