#!/bin/sh
# deb_systemctl_standin.sh: a stand-in for systemctl inside deb_lifecycle_test.sh's
# throw-away copy of the machine, where systemd is not running. It knows one kind of
# unit, the one the package ships: start checks ConditionPathExists=, creates
# RuntimeDirectory=, runs ExecStartPre= and then ExecStart= as User=/Group= in the
# background and waits for the API socket (Type=notify would wait for READY=1); stop
# sends SIGTERM and waits; preset/enable make the [Install] symlinks, is-enabled looks
# for them. Every call is appended to /run/standin/calls. No sandboxing.
set -u

state=/run/standin
mkdir -p "$state"
echo "$*" >>"$state/calls"

verb="" unit=""
for a in "$@"; do
	case "$a" in
	--version) echo "systemd 252 (252-standin)"; exit 0 ;;
	-*) ;;
	*) if [ -z "$verb" ]; then verb=$a; elif [ -z "$unit" ]; then unit=$a; fi ;;
	esac
done

file=/lib/systemd/system/$unit
pidfile=$state/$unit.pid
key() { sed -n "s/^$1=//p" "$file"; }
active() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
	active && return 0
	[ -f "$file" ] || { echo "Unit $unit not found." >&2; return 5; }
	for p in $(key ConditionPathExists); do
		if [ ! -e "$p" ]; then
			echo "condition failed: ConditionPathExists=$p" >>"$state/calls"
			return 0
		fi
	done
	user=$(key User) group=$(key Group)
	as="setpriv --reuid=$user --regid=$group --init-groups --"
	for d in $(key RuntimeDirectory); do
		install -d -m "$(key RuntimeDirectoryMode)" -o "$user" -g "$group" "/run/$d"
	done
	pre=$(key ExecStartPre)
	if [ -n "$pre" ] && ! $as $pre >>"$state/$unit.log" 2>&1; then
		echo "ExecStartPre failed" >>"$state/calls"
		return 1
	fi
	setsid $as $(key ExecStart) >>"$state/$unit.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
	i=0
	while [ $i -lt 100 ]; do
		[ -S /run/arrangd/api.sock ] && return 0
		active || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "start failed" >>"$state/calls"
	return 1
}

stop() {
	if active; then
		pid=$(cat "$pidfile")
		kill -TERM "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	rm -f "$pidfile"
	[ -f "$file" ] && for d in $(key RuntimeDirectory); do rm -rf "/run/$d"; done
	return 0
}

case "$verb" in
start) start ;;
stop) stop ;;
restart | try-restart)
	if [ "$verb" = restart ] || active; then
		stop
		start
	fi
	;;
preset | enable)
	# deb-systemd-helper enables a new unit with `preset --preset-mode=enable-only`;
	# Debian's preset policy is "enable".
	for t in $(key WantedBy); do
		mkdir -p "/etc/systemd/system/$t.wants"
		ln -sf "$file" "/etc/systemd/system/$t.wants/$unit"
	done
	;;
disable) rm -f /etc/systemd/system/*.wants/"$unit" ;;
is-active)
	if active; then echo active; else echo inactive; exit 3; fi ;;
is-enabled)
	if ls /etc/systemd/system/*.wants/"$unit" >/dev/null 2>&1; then
		echo enabled
	else
		echo disabled
		exit 1
	fi
	;;
*) exit 0 ;; # daemon-reload, list-units: nothing to do
esac
