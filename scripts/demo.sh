#!/bin/bash
# demo.sh: a local region of three arrangd nodes on loopback, driven with arrangctl.
#
# usage: scripts/demo.sh BUILD_DIR        (`make demo` runs it with the build directory)
#
# Brings up gemeente-testdorp, swv-testregio and jeugdhulp-voorbeeld (the fixture region
# of DOMAIN.md) in a temporary directory; registers an arrangement at the school
# partnership, changes its status and adds a funding share at the municipality, stops
# the care provider's node, makes changes while it is down, restarts it, and shows that
# all three replicas hold the same arrangement, the same history and the same digest.
# Exits non-zero if they do not converge within DEMO_TIMEOUT seconds (default 60).
# Stops every process it started; the logs stay in the printed directory (DEMO_CLEAN=1
# removes it on success).
set -eu

BUILD=${1:?usage: demo.sh BUILD_DIR}
ARRANGD="$BUILD/daemon/arrangd"
CTL="$BUILD/client/arrangctl"
TIMEOUT=${DEMO_TIMEOUT:-60}
NODES=(gemeente-testdorp swv-testregio jeugdhulp-voorbeeld)
declare -A ORG=([gemeente-testdorp]="Gemeente Testdorp" [swv-testregio]="SWV PO Testregio"
	[jeugdhulp-voorbeeld]="Jeugdhulp Voorbeeld B.V.")
declare -A PID=()

for f in "$ARRANGD" "$CTL"; do
	[ -x "$f" ] || { echo "demo: $f not found; build first (make build)" >&2; exit 2; }
done
command -v ss >/dev/null || { echo "demo: needs ss (iproute2)" >&2; exit 2; }

D=$(mktemp -d /tmp/arrangd-demo.XXXXXX)
ok=0

stop_node() {
	local n=$1
	if [ -n "${PID[$n]:-}" ] && kill -0 "${PID[$n]}" 2>/dev/null; then
		kill -TERM "${PID[$n]}" 2>/dev/null || true
		wait "${PID[$n]}" 2>/dev/null || true
	fi
	PID[$n]=""
}

cleanup() {
	for n in "${NODES[@]}"; do
		stop_node "$n"
	done
	if [ "$ok" = 1 ] && [ "${DEMO_CLEAN:-0}" = 1 ]; then
		rm -rf "$D"
	else
		echo "logs: $D/<node>/arrangd.log (configs, replicas and members file in $D)"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n==> %s\n' "$*"; }
ctl() { # ctl NODE ARGS...: arrangctl against NODE's API socket
	local n=$1
	shift
	"$CTL" --socket "$D/$n/api.sock" "$@"
}

free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 200); do
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] && ! grep -qx "$p" "$D/ports" 2>/dev/null; then
			echo "$p" | tee -a "$D/ports"
			return 0
		fi
	done
	echo "demo: no free port" >&2
	return 1
}

start_node() {
	local n=$1
	"$ARRANGD" --config "$D/$n/arrangd.conf" 2>>"$D/$n/arrangd.log" &
	PID[$n]=$!
	for _ in $(seq 100); do
		ctl "$n" --timeout 500 status >/dev/null 2>&1 && return 0
		kill -0 "${PID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo: $n did not start; see $D/$n/arrangd.log" >&2
	exit 1
}

# wait_converged NODE...: until the digests of the running nodes agree (and sync-now
# nudges them), or fail after TIMEOUT seconds.
wait_converged() {
	local start=$SECONDS d first same
	while :; do
		same=1
		first=""
		for n in "$@"; do
			d=$(ctl "$n" --timeout 2000 digest 2>/dev/null || echo "unreachable-$n")
			[ -z "$first" ] && first=$d
			[ "$d" = "$first" ] || same=0
		done
		[ "$same" = 1 ] && return 0
		if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
			echo "demo: replicas did not converge within ${TIMEOUT}s:" >&2
			for n in "$@"; do
				echo "  $n: $(ctl "$n" --timeout 2000 digest 2>&1)" >&2
			done
			exit 1
		fi
		for n in "$@"; do ctl "$n" --timeout 2000 sync >/dev/null 2>&1 || true; done
		sleep 0.3
	done
}

# wait_for NODE CMD...: until arrangctl CMD succeeds on NODE (a row has arrived).
wait_for() {
	local n=$1 start=$SECONDS
	shift
	until ctl "$n" "$@" >/dev/null 2>&1; do
		if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
			echo "demo: '$*' did not succeed on $n within ${TIMEOUT}s" >&2
			exit 1
		fi
		sleep 0.2
	done
}

say "a region of three nodes in $D"
: >"$D/members.conf"
for n in "${NODES[@]}"; do
	mkdir -p "$D/$n"
	port=$(free_port)
	cat >"$D/$n/arrangd.conf" <<EOF
[node]
name = $n
organisation = ${ORG[$n]}
data_dir = $D/$n/data
listen = tcp://127.0.0.1:$port
api = $D/$n/api.sock
members = $D/members.conf

[sync]
heartbeat_ms = 250
EOF
	"$ARRANGD" --init --config "$D/$n/arrangd.conf" >>"$D/members.conf"
	echo >>"$D/members.conf"
	echo "    $n (${ORG[$n]}) on tcp://127.0.0.1:$port"
done
echo "    members file (the same for every node):"
sed 's/^./      &/' "$D/members.conf"
for n in "${NODES[@]}"; do start_node "$n"; done
ctl gemeente-testdorp peers

say "each organisation registers itself; the SWV also registers the school"
ctl gemeente-testdorp organisation add kind=gemeente name="Gemeente Testdorp" code=9901 >/dev/null
ctl swv-testregio organisation add kind=swv name="SWV PO Testregio" code=PO9901 >/dev/null
ctl swv-testregio organisation add kind=school name="OBS De Lijster" code=99XX01 >/dev/null
ctl jeugdhulp-voorbeeld organisation add kind=provider name="Jeugdhulp Voorbeeld B.V." \
	code=98000001 >/dev/null
wait_converged "${NODES[@]}"
ctl swv-testregio organisation list

say "swv-testregio registers an arrangement (child TD-2016-001, oza, requested)"
ID=$(ctl swv-testregio arrangement add --child-ref TD-2016-001 --kind oza --status requested \
	--school 99XX01 --municipality 9901 --swv PO9901 --lead PO9901 \
	--requested-on 2025-11-20 --summary "Onderwijs-zorgarrangement, deels op school" | head -1)
echo "    arrangement $ID"

say "gemeente-testdorp receives it, moves it to under_review and adds its funding share"
wait_for gemeente-testdorp arrangement show "$ID"
ctl gemeente-testdorp arrangement set "$ID" status=under_review
ctl gemeente-testdorp funding add --arrangement-id "$ID" --funder-org-id 9901 \
	--source jeugdwet --amount-cents 650000 --period-from 2026-01-05 --period-to 2026-07-31 \
	>/dev/null
wait_converged "${NODES[@]}"
ctl gemeente-testdorp arrangement list

say "jeugdhulp-voorbeeld goes offline"
stop_node jeugdhulp-voorbeeld
echo "    stopped"

say "meanwhile: the gemeente allocates, the SWV adds its share and the care assignment"
ctl gemeente-testdorp arrangement set "$ID" status=allocated decided_on=2025-12-15 \
	start_on=2026-01-05
ctl swv-testregio funding add --arrangement-id "$ID" --funder-org-id PO9901 \
	--source swv_arrangement --amount-cents 450000 --period-from 2026-01-05 >/dev/null
ctl swv-testregio assignment add --arrangement-id "$ID" --provider-org-id 98000001 \
	--assignment-no JW-2026-0001 --product-category 45 --product-code 45A12 \
	--valid-from 2026-01-05 --volume 6 --unit day_part --frequency week >/dev/null
wait_converged gemeente-testdorp swv-testregio
echo "    gemeente-testdorp and swv-testregio agree; jeugdhulp-voorbeeld is behind"

say "jeugdhulp-voorbeeld comes back and catches up"
start_node jeugdhulp-voorbeeld
wait_converged "${NODES[@]}"
echo "    converged"

say "the arrangement as jeugdhulp-voorbeeld sees it"
ctl jeugdhulp-voorbeeld arrangement show "$ID"

say "its history (who changed what, when, from which organisation)"
ctl jeugdhulp-voorbeeld arrangement history "$ID"

say "side by side"
for n in "${NODES[@]}"; do
	ctl "$n" arrangement show "$ID" >"$D/$n/show.txt"
	ctl "$n" arrangement history "$ID" >"$D/$n/history.txt"
	ctl "$n" digest >"$D/$n/digest.txt"
done
fmt='%-20s  %-12s  %-7s  %-11s  %-11s  %s\n'
# shellcheck disable=SC2059
printf "$fmt" NODE STATUS FUNDING ASSIGNMENTS HISTORY DIGEST
for n in "${NODES[@]}"; do
	js=$(ctl "$n" --json arrangement show "$ID")
	# shellcheck disable=SC2059
	printf "$fmt" "$n" \
		"$(printf '%s' "$js" | grep -o '"status":"[a-z_]*"' | head -1 | cut -d'"' -f4)" \
		"$(printf '%s' "$js" | grep -o '"funder_org_id"' | wc -l)" \
		"$(printf '%s' "$js" | grep -o '"provider_org_id"' | wc -l)" \
		"$(($(wc -l <"$D/$n/history.txt") - 1)) changes" \
		"$(cat "$D/$n/digest.txt")"
done

fail=0
for n in "${NODES[@]:1}"; do
	for what in show history digest; do
		if ! cmp -s "$D/${NODES[0]}/$what.txt" "$D/$n/$what.txt"; then
			echo "demo: $what differs between ${NODES[0]} and $n:" >&2
			diff "$D/${NODES[0]}/$what.txt" "$D/$n/$what.txt" >&2 || true
			fail=1
		fi
	done
done
[ "$fail" = 0 ] || exit 1
echo
echo "all three replicas hold the same arrangement, the same history and the same digest"
ok=1
