#!/bin/bash
# monitoring_test.sh: the alert rules and dashboard of docs/monitoring/ against
# Prometheus's own checker and against what a real arrangd reports.
#  1. promtool check rules: the rules file is valid;
#  2. promtool test rules: each alert fires on the series that should raise it and
#     stays quiet on a healthy node (docs/monitoring/arrangd.rules.test.yml);
#  3. the dashboard is valid JSON and every panel has a query;
#  4. every arrangd_* metric the rules and the dashboard name is in the output of
#     `arrangctl metrics` from a running two-member arrangd, and in the metrics table
#     of docs/operations.md.
# usage: monitoring_test.sh SRCDIR ARRANGCTL ARRANGD
set -eu
SRC=$1 CTL=$2 ARRANGD=$3
MON=$SRC/docs/monitoring
T=$(mktemp -d /tmp/arrangd-mon.XXXXXX)
DPID=""
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
stop() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$T"
}
trap stop EXIT

promtool check rules "$MON/arrangd.rules.yml" || fail "promtool check rules"
(cd "$MON" && promtool test rules arrangd.rules.test.yml) || fail "promtool test rules"
jq -e '[.panels[] | select((.targets | length) == 0)] | length == 0' \
	"$MON/arrangd.grafana.json" >/dev/null || fail "dashboard is not JSON or has a panel without a query"

# A node and a second member that never runs: per-peer series exist for it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for n in a b; do
	printf '[node]\nname = mon-%s\norganisation = Org %s\ndata_dir = %s/%s\nlisten = tcp://127.0.0.1:%s\napi = %s/%s.sock\nmembers = %s/members.conf\n' \
		"$n" "$n" "$T" "$n" "$port" "$T" "$n" "$T" >"$T/$n.conf"
	"$ARRANGD" --init --config "$T/$n.conf" >>"$T/members.conf"
done
"$ARRANGD" --config "$T/a.conf" 2>"$T/arrangd.log" &
DPID=$!
for _ in $(seq 100); do
	"$CTL" --socket "$T/a.sock" --timeout 500 metrics >"$T/metrics" 2>/dev/null && break
	sleep 0.1
done
[ -s "$T/metrics" ] || { fail "no metrics from arrangd"; cat "$T/arrangd.log" >&2; }

used=$( (grep -o 'arrangd_[a-z_]*' "$MON/arrangd.rules.yml"; jq -r '.. | .expr? // empty' \
	"$MON/arrangd.grafana.json" | grep -o 'arrangd_[a-z_]*') | sed 's/_bucket$//' | sort -u)
[ -n "$used" ] || fail "no arrangd metrics found in the rules and the dashboard"
for m in $used; do
	grep -q "^# TYPE $m " "$T/metrics" || fail "$m is used by docs/monitoring but arrangd does not report it"
	grep -q "\`$m" "$SRC/docs/operations.md" || fail "$m is not in the metrics table of docs/operations.md"
done
echo "monitoring: $(echo "$used" | wc -w) metrics used by rules and dashboard, $fails failures"
[ "$fails" -eq 0 ]
