#!/bin/bash
# demo.sh: a local region of four arrangd nodes on loopback, driven with arrangctl.
#
# usage: scripts/demo.sh BUILD_DIR        (`make demo` runs it with the build directory)
#
# Brings up gemeente-testdorp, swv-testregio, jeugdhulp-voorbeeld and obs-de-lijster
# (the fixture region of DOMAIN.md) in a temporary directory. The care provider's node
# reaches the region only through the school's node (its members file lists no other
# endpoint, and no other node dials it), so the school relays everything it sends and
# receives. The school partnership registers an arrangement and makes the municipality
# and the care provider parties; the school is not a party: it relays the arrangement
# encrypted and cannot read it. The municipality changes the arrangement, the care
# provider goes offline and catches up through the school, and all nodes converge
# (equal log digests everywhere; equal content digests among the parties). Then the
# school is granted, reads the arrangement, is revoked, and a later change is unreadable
# to it again.
# Exits non-zero if a step fails or nodes do not converge within DEMO_TIMEOUT seconds
# (default 60). Stops every process it started; the logs stay in the printed directory
# (DEMO_CLEAN=1 removes it on success).
set -eu

BUILD=${1:?usage: demo.sh BUILD_DIR}
ARRANGD="$BUILD/daemon/arrangd"
CTL="$BUILD/client/arrangctl"
TIMEOUT=${DEMO_TIMEOUT:-60}
NODES=(gemeente-testdorp swv-testregio jeugdhulp-voorbeeld obs-de-lijster)
PARTIES=(gemeente-testdorp swv-testregio jeugdhulp-voorbeeld)
declare -A ORG=([gemeente-testdorp]="Gemeente Testdorp" [swv-testregio]="SWV PO Testregio"
	[jeugdhulp-voorbeeld]="Jeugdhulp Voorbeeld B.V." [obs-de-lijster]="OBS De Lijster")
declare -A PID=()
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


# digest_of NODE log|content: that line of `arrangctl digest`.
digest_of() {
	ctl "$1" --timeout 2000 digest 2>/dev/null | awk -v k="$2" '$1 == k {print $2}'
}

# wait_converged NODE... [--readers NODE...]: until every node named has the same log
# digest and the nodes after --readers (which read the same arrangements) also the same
# content digest. Nudges with sync; fails after TIMEOUT seconds.
wait_converged() {
	local start=$SECONDS n d same first firstc readers=0 all=() parties=()
	for n in "$@"; do
		if [ "$n" = --readers ]; then
			readers=1
			continue
		fi
		all+=("$n")
		[ "$readers" = 1 ] && parties+=("$n")
	done
	while :; do
		same=1
		first=""
		firstc=""
		for n in "${all[@]}"; do
			d=$(digest_of "$n" log || true)
			[ -z "$first" ] && first=$d
			{ [ -n "$d" ] && [ "$d" = "$first" ]; } || same=0
		done
		for n in "${parties[@]}"; do
			d=$(digest_of "$n" content || true)
			[ -z "$firstc" ] && firstc=$d
			[ "$d" = "$firstc" ] || same=0
		done
		[ "$same" = 1 ] && return 0
		if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
			echo "demo: nodes did not converge within ${TIMEOUT}s:" >&2
			for n in "${all[@]}"; do
				echo "  $n: $(ctl "$n" --timeout 2000 digest 2>&1 | tr '\n' ' ')" >&2
			done
			exit 1
		fi
		for n in "${all[@]}"; do ctl "$n" --timeout 2000 sync >/dev/null 2>&1 || true; done
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

say "a region of four nodes in $D"
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
members = $D/$n/members.conf

[sync]
heartbeat_ms = 250
EOF
	"$ARRANGD" --init --config "$D/$n/arrangd.conf" >"$D/$n/member.txt"
	echo "    $n (${ORG[$n]}) on tcp://127.0.0.1:$port"
done
# Every node knows every member. jeugdhulp-voorbeeld dials only the school, and nobody
# else dials jeugdhulp-voorbeeld: the school's node is on the path of all it exchanges.
for n in "${NODES[@]}"; do
	: >"$D/$n/members.conf"
	for m in "${NODES[@]}"; do
		if { [ "$n" = jeugdhulp-voorbeeld ] && [ "$m" != obs-de-lijster ]; } ||
			{ [ "$n" != jeugdhulp-voorbeeld ] && [ "$m" = jeugdhulp-voorbeeld ]; }; then
			grep -v '^endpoint' "$D/$m/member.txt" >>"$D/$n/members.conf"
		else
			cat "$D/$m/member.txt" >>"$D/$n/members.conf"
		fi
		echo >>"$D/$n/members.conf"
	done
done
echo "    members file of jeugdhulp-voorbeeld (an endpoint for the school only):"
sed 's/^./      &/' "$D/jeugdhulp-voorbeeld/members.conf"
for n in "${NODES[@]}"; do start_node "$n"; done
ctl jeugdhulp-voorbeeld peers

say "each organisation registers itself (the region scope: every member reads it)"
ctl gemeente-testdorp organisation add kind=gemeente name="Gemeente Testdorp" code=9901 >/dev/null
ctl swv-testregio organisation add kind=swv name="SWV PO Testregio" code=PO9901 >/dev/null
ctl obs-de-lijster organisation add kind=school name="OBS De Lijster" code=99XX01 >/dev/null
ctl jeugdhulp-voorbeeld organisation add kind=provider name="Jeugdhulp Voorbeeld B.V." \
	code=98000001 >/dev/null
wait_converged --readers "${NODES[@]}"
ctl swv-testregio organisation list

say "swv-testregio registers an arrangement (child TD-2016-001, oza, requested)"
ID=$(ctl swv-testregio arrangement add --child-ref TD-2016-001 --kind oza --status requested \
	--school 99XX01 --municipality 9901 --swv PO9901 --lead PO9901 \
	--requested-on 2025-11-20 --summary "Onderwijs-zorgarrangement, deels op school" | head -1)
echo "    arrangement $ID (its own encrypted scope, owned by swv-testregio)"

say "swv-testregio makes the municipality and the care provider parties (GRANT)"
# admin: the status and dates are the owner's and its admins' to write (the role matrix)
ctl swv-testregio scope grant "$ID" --member gemeente-testdorp --roles funder,requester,admin
ctl swv-testregio scope grant "$ID" --member jeugdhulp-voorbeeld --roles care
ctl swv-testregio scope show "$ID"

say "gemeente-testdorp reads it, moves it to under_review and adds its funding share"
wait_for gemeente-testdorp arrangement show "$ID"
ctl gemeente-testdorp arrangement set "$ID" status=under_review
ctl gemeente-testdorp funding add --arrangement-id "$ID" --funder-org-id 9901 \
	--source jeugdwet --amount-cents 650000 --period-from 2026-01-05 --period-to 2026-07-31 \
	>/dev/null
wait_converged obs-de-lijster --readers "${PARTIES[@]}"
ctl gemeente-testdorp arrangement list

say "obs-de-lijster relays the arrangement but cannot read it"
if ctl obs-de-lijster arrangement show "$ID" 2>"$D/school.err"; then
	echo "demo: obs-de-lijster reads an arrangement it is not a party of" >&2
	exit 1
fi
sed 's/^/    /' "$D/school.err"
ctl obs-de-lijster status | grep -E '^(log|scopes) '
if grep -rqa "deels op school" "$D/obs-de-lijster/data"; then
	echo "demo: the arrangement's summary is in clear in the school's data directory" >&2
	exit 1
fi
echo "    its summary appears nowhere in the school's database or WAL"

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
	--valid-from 2026-01-05 --volume 6 --unit 16 --frequency 2 >/dev/null
wait_converged obs-de-lijster --readers gemeente-testdorp swv-testregio
echo "    gemeente-testdorp and swv-testregio agree; jeugdhulp-voorbeeld is behind"

say "jeugdhulp-voorbeeld comes back and catches up through the school"
start_node jeugdhulp-voorbeeld
wait_converged obs-de-lijster --readers "${PARTIES[@]}"
echo "    converged: equal log digests on all four nodes, equal contents among the parties"

say "the arrangement as jeugdhulp-voorbeeld sees it"
ctl jeugdhulp-voorbeeld arrangement show "$ID"

say "its history (who changed what, when, from which organisation)"
ctl jeugdhulp-voorbeeld arrangement history "$ID"

say "side by side"
for n in "${PARTIES[@]}"; do
	ctl "$n" arrangement show "$ID" >"$D/$n/show.txt"
	ctl "$n" arrangement history "$ID" >"$D/$n/history.txt"
	ctl "$n" digest >"$D/$n/digest.txt"
done
ctl obs-de-lijster digest >"$D/obs-de-lijster/digest.txt"
fmt='%-20s  %-12s  %-7s  %-11s  %-11s  %-16s  %s\n'
# shellcheck disable=SC2059
printf "$fmt" NODE STATUS FUNDING ASSIGNMENTS HISTORY LOG CONTENT
for n in "${NODES[@]}"; do
	if [ "$n" = obs-de-lijster ]; then
		st="(not a party)" fu=- as=- hi=-
	else
		js=$(ctl "$n" --json arrangement show "$ID")
		st=$(printf '%s' "$js" | grep -o '"status":"[a-z_]*"' | head -1 | cut -d'"' -f4)
		fu=$(printf '%s' "$js" | grep -o '"funder_org_id"' | wc -l)
		as=$(printf '%s' "$js" | grep -o '"provider_org_id"' | wc -l)
		hi="$(($(wc -l <"$D/$n/history.txt") - 1)) changes"
	fi
	# shellcheck disable=SC2059
	printf "$fmt" "$n" "$st" "$fu" "$as" "$hi" \
		"$(awk '$1 == "log" {print substr($2, 1, 16)}' "$D/$n/digest.txt")" \
		"$(awk '$1 == "content" {print substr($2, 1, 16)}' "$D/$n/digest.txt")"
done

fail=0
for n in "${PARTIES[@]:1}"; do
	for what in show history digest; do
		if ! cmp -s "$D/${PARTIES[0]}/$what.txt" "$D/$n/$what.txt"; then
			echo "demo: $what differs between ${PARTIES[0]} and $n:" >&2
			diff "$D/${PARTIES[0]}/$what.txt" "$D/$n/$what.txt" >&2 || true
			fail=1
		fi
	done
done
if [ "$(awk '$1 == "log"' "$D/obs-de-lijster/digest.txt")" != \
	"$(awk '$1 == "log"' "$D/${PARTIES[0]}/digest.txt")" ]; then
	echo "demo: the school's log differs from the parties'" >&2
	fail=1
fi
[ "$fail" = 0 ] || exit 1
echo
echo "the parties hold the same arrangement, history and digests; the school the same log"

say "the SWV grants the school (education): it reads the arrangement"
ctl swv-testregio scope grant "$ID" --member obs-de-lijster --roles education
wait_for obs-de-lijster arrangement show "$ID"
ctl obs-de-lijster arrangement show "$ID" | grep -E '^(status|summary) '

say "the SWV revokes the school; then the gemeente changes the summary"
ctl swv-testregio scope revoke "$ID" --member obs-de-lijster
wait_converged obs-de-lijster --readers "${PARTIES[@]}"
ctl gemeente-testdorp arrangement set "$ID" summary="Na herindicatie: 4 dagdelen per week"
wait_converged obs-de-lijster --readers "${PARTIES[@]}"
now=$(ctl obs-de-lijster arrangement show "$ID" | grep '^summary ')
echo "    the school still shows what it read while it was a party: $now"
case "$now" in
*herindicatie*)
	echo "demo: the revoked school reads a change made after its revoke" >&2
	exit 1
	;;
esac
ctl obs-de-lijster scope show "$ID" | sed -n 2,3p
echo "    the change after the revoke is sealed under a key the school never received"
ok=1
