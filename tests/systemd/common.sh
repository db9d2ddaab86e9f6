# common.sh: sourced by the tests/systemd/*_test.sh checks. Counts failures (fail MSG
# prints "FAIL: MSG" and goes on, so one run shows every problem), gives a scratch
# directory $tmp removed on exit, and ends a run with checks_done MESSAGE: "N check(s)
# failed" and exit 1, or MESSAGE and the caller goes on. It checks nothing itself.
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# checks_done OK_MESSAGE [HOOK]: HOOK (a function) runs before the failure exit.
checks_done() {
	if [ "$fails" -ne 0 ]; then
		[ $# -lt 2 ] || "$2"
		echo "$fails check(s) failed" >&2
		exit 1
	fi
	echo "$1"
}
