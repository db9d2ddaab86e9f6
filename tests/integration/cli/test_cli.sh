#!/bin/bash
# test_cli.sh: arrangctl against a real arrangd (one-node region on loopback): every
# command, golden output of the human format (tests/fixtures/cli/*.txt, compared after
# replacing generated ids and times with placeholders), parsed checks of --json with jq,
# and the documented error paths: bad arguments (exit 2), unknown ids (exit 1), refused
# status transitions (exit 1), unreachable daemon (exit 3), each with a one-line message.
#
# usage: test_cli.sh ARRANGCTL ARRANGD FIXTURE_DIR
# UPDATE_GOLDEN=1 rewrites the golden files instead of comparing (review the diff!).
set -eu

CTL=$1
ARRANGD=$2
FIX=$3
UPDATE=${UPDATE_GOLDEN:-0}

T=$(mktemp -d /tmp/arrangctl-test.XXXXXX)
DPID=""
failures=0
checks=0

cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	if [ "$failures" -eq 0 ]; then
		rm -rf "$T"
	else
		echo "logs and outputs kept in $T (daemon log: $T/arrangd.log)" >&2
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run CMD...: runs it with stdout in $T/out and stderr in $T/err; sets RC.
run() {
	checks=$((checks + 1))
	set +e
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
}

# expect RC CMD...: run and check the exit status.
expect() {
	local want=$1
	shift
	run "$@"
	if [ "$RC" != "$want" ]; then
		fail "exit $RC (want $want): ${*#"$CTL"}"
		sed 's/^/    stderr: /' "$T/err" >&2
	fi
}

# ok CMD...: exit 0 and nothing on stderr.
ok() {
	expect 0 "$@"
	[ -s "$T/err" ] && fail "unexpected stderr from: ${*#"$CTL"}" && sed 's/^/    /' "$T/err" >&2
	return 0
}

# usage CMD...: exit 2, "error: ..." then "see 'arrangctl ... --help'", nothing else.
usage() {
	expect 2 "$@"
	if [ "$(wc -l <"$T/err")" != 2 ] || ! head -1 "$T/err" | grep -q '^error: ' ||
		! sed -n 2p "$T/err" | grep -Eq "^see 'arrangctl( [a-z_-]+)* --help'$"; then
		fail "usage message of: ${*#"$CTL"}"
		sed 's/^/    /' "$T/err" >&2
	fi
	[ -s "$T/out" ] && fail "stdout on usage error: ${*#"$CTL"}"
	return 0
}

# error RC MESSAGE CMD...: exit RC with exactly one stderr line, MESSAGE ("" = any error).
error() {
	local want=$1 msg=$2
	shift 2
	expect "$want" "$@"
	if [ "$(wc -l <"$T/err")" != 1 ] || ! grep -q '^error: ' "$T/err"; then
		fail "not a one-line error: ${*#"$CTL"}"
		sed 's/^/    /' "$T/err" >&2
	elif [ -n "$msg" ] && [ "$(cat "$T/err")" != "$msg" ]; then
		fail "message of ${*#"$CTL"}: got '$(cat "$T/err")', want '$msg'"
	fi
	return 0
}

# Generated ids become fixed-width placeholders (full and 8-character forms) so that
# golden files do not depend on random ids; times become YYYY-MM-DDTHH:MM:SSZ.
SEDS="$T/ids.sed"
: >"$SEDS"
name_id() {
	local name=$1 id=$2 full short
	full=$(printf '%s%s' "$name" "....................................")
	short=$(printf '%s%s' "$name" "........")
	echo "s/$id/${full:0:36}/g" >>"$SEDS"
	echo "s/${id:0:8}/${short:0:8}/g" >>"$SEDS"
}
normalise() {
	sed -f "$SEDS" |
		sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z/YYYY-MM-DDTHH:MM:SSZ/g'
}

# golden NAME: the last command's stdout, normalised, equals tests/fixtures/cli/NAME.txt.
# With GOLDEN_SORT=1 the rows under the header are sorted first: for lists ordered by a
# random id, where only the set of rows is stable.
golden() {
	local want="$FIX/$1.txt"
	if [ "${GOLDEN_SORT:-0}" = 1 ]; then
		normalise <"$T/out" | { IFS= read -r head; printf '%s\n' "$head"; LC_ALL=C sort; } >"$T/$1.txt"
	else
		normalise <"$T/out" >"$T/$1.txt"
	fi
	if [ "$UPDATE" = 1 ]; then
		cp "$T/$1.txt" "$want"
	elif [ ! -f "$want" ]; then
		fail "missing golden file $want"
	elif ! diff -u "$want" "$T/$1.txt" >"$T/$1.diff"; then
		fail "output differs from $want:"
		cat "$T/$1.diff" >&2
	fi
}

# jqcheck [JQ-ARGS...] FILTER: the last command's stdout (JSON; JSON lines are slurped
# into an array when SLURP=1) satisfies FILTER.
jqcheck() {
	local args=(-e) filter=${!#}
	[ "${SLURP:-0}" = 1 ] && args+=(-s)
	args+=("${@:1:$(($# - 1))}")
	if ! jq "${args[@]}" "$filter" <"$T/out" >/dev/null 2>"$T/jqerr"; then
		fail "jq '$filter' on: $(head -c 300 "$T/out")"
		cat "$T/jqerr" >&2
	fi
}

# A port no socket uses, from below the kernel's ephemeral range: the outgoing
# connections of the tests running beside this one take their ports from that range,
# and one of them holding the port makes the daemon's bind fail (as tests/support/region.c).
free_port() {
	local p top
	top=$(($(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768) - 1))
	[ "$top" -gt 10000 ] || top=32767
	for p in $(shuf -i 10000-"$top" -n 100); do
		if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ---- a one-node region ----
PORT=$(free_port)
SOCK="$T/api.sock"
cat >"$T/node.conf" <<EOF
[node]
name = cli-test
organisation = Gemeente Testdorp
data_dir = $T/data
listen = tcp://127.0.0.1:$PORT
api = $SOCK
members = $T/members.conf
# small pages, so that lists and histories below come in several
api_page_bytes = 4096

[sync]
heartbeat_ms = 200
EOF
"$ARRANGD" --init --config "$T/node.conf" >"$T/members.conf"
"$ARRANGD" --config "$T/node.conf" 2>"$T/arrangd.log" &
DPID=$!
export ARRANGD_SOCKET="$SOCK"
for _ in $(seq 100); do
	[ -S "$SOCK" ] && "$CTL" --timeout 500 status >/dev/null 2>&1 && break
	kill -0 "$DPID" 2>/dev/null || { fail "arrangd exited"; cat "$T/arrangd.log" >&2; exit 1; }
	sleep 0.1
done

# ---- --help on every command: exit 0, usage on stdout ----
while read -r cmd; do
	# shellcheck disable=SC2086
	ok "$CTL" $cmd --help
	head -1 "$T/out" | grep -q '^usage: arrangctl' || fail "help of '$cmd' does not start with usage"
	grep -q 'Exit status' "$T/out" || fail "help of '$cmd' does not document the exit status"
done <<'EOF'

status
peers
digest
sync
query
import
export
quarantine
backup
metrics
arrangement
arrangement add
arrangement set
arrangement list
arrangement show
arrangement history
arrangement delete
organisation
organisation add
organisation set
organisation list
organisation show
organisation delete
organisation history
child add
party add
funding list
assignment show
evaluation set
consent delete
EOF
ok "$CTL" help arrangement add
grep -q -- '--child-ref' "$T/out" || fail "'help arrangement add'"
ok "$CTL" --version
grep -Eq '^arrangctl [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "--version"

# ---- node commands on an empty replica ----
ok "$CTL" status
grep -q '^node  *cli-test$' "$T/out" || fail "status: node line"
grep -q '^quarantined  *0$' "$T/out" || fail "status: quarantined line"
grep -q '^peers  *0 of 0 connected$' "$T/out" || fail "status: peers line"
ok "$CTL" --json status
jqcheck '.node == "cli-test" and .organisation == "Gemeente Testdorp" and (.origin | test("^[0-9a-f]{64}$")) and .quarantined == 0 and (.peers | length) == 0 and (.db_bytes > 0)'
ok "$CTL" peers
golden peers
ok "$CTL" --json peers
[ -s "$T/out" ] && fail "peers --json of a one-node region is not empty"
ok "$CTL" digest
grep -Eq '^log +[0-9a-f]{64}$' "$T/out" && grep -Eq '^content +[0-9a-f]{64}$' "$T/out" || fail "digest format"
EMPTY_DIGEST=$(cat "$T/out")
# the digest of this node's own schema version is the default one
ok "$CTL" digest --schema 1
[ "$(cat "$T/out")" = "$EMPTY_DIGEST" ] || fail "digest --schema 1 differs from digest"
usage "$CTL" digest --schema 0
usage "$CTL" digest --schema x
usage "$CTL" digest extra
expect 1 "$CTL" digest --schema 99
grep -q '^error: this node knows schema versions 1 to 1' "$T/err" || fail "digest --schema 99 message"
ok "$CTL" --json status
jqcheck '.schema_version == 1 and .schema_kept.changesets == 0 and .schema_kept.overflow == 0'
ok "$CTL" --json digest
jqcheck --arg d "$EMPTY_DIGEST" '.digest | test("^[0-9a-f]{64}$")'
ok "$CTL" sync
golden sync
ok "$CTL" sync --json
jqcheck '.peers == 0'
ok "$CTL" quarantine list
golden quarantine_list
ok "$CTL" --json quarantine list
[ -s "$T/out" ] && fail "quarantine list --json not empty"
ok "$CTL" quarantine retry
golden quarantine_retry
ok "$CTL" --json quarantine retry
jqcheck '.applied == 0 and .duplicates == 0 and .pending == 0 and .quarantined == 0'

# ---- import of the fixture region (fixed ids) ----
ok "$CTL" import "$FIX/region.jsonl"
golden import
ok "$CTL" organisation list
golden organisation_list
ok "$CTL" --json organisation list
SLURP=1 jqcheck 'length == 4 and .[0].id == "5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a" and .[0].code == "9901" and .[3].kind == "provider"'
ok "$CTL" organisation show a0000004
golden organisation_show
ok "$CTL" organisation list kind=school
golden organisation_list_school
expect 0 "$CTL" child list --limit 2
golden child_list_limit
[ "$(cat "$T/err")" = "showing 2 of 5; use --all or --after c0000002-0000-4000-8000-000000000002" ] ||
	fail "list --limit: stderr '$(cat "$T/err")'"
ok "$CTL" --json child list --after c0000002-0000-4000-8000-000000000002
SLURP=1 jqcheck 'length == 3 and .[0].ref == "TD-2017-007"'
ok "$CTL" --json child list --all
SLURP=1 jqcheck 'length == 5'
expect 2 "$CTL" child list --all --limit 2
expect 2 "$CTL" child list --after c0000002
ok "$CTL" arrangement list
golden arrangement_list
ok "$CTL" arrangement list --status started
golden arrangement_list_started
ok "$CTL" arrangement list --school 99XX01 --municipality 9901
golden arrangement_list_school
ok "$CTL" --json arrangement list --status started
SLURP=1 jqcheck 'length == 3 and all(.[]; .status == "started") and (.[0].child_id | test("^c0000001-"))'

# ---- arrangement list filters: child, kind, organisation in any role, dates ----
# listed WANT ARGS...: the 8-character ids that `--json arrangement list ARGS` prints.
listed() {
	local want=$1
	shift
	ok "$CTL" --json arrangement list "$@"
	local got
	got=$(jq -r '.id[0:8]' <"$T/out" | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "arrangement list $*: got '$got', want '$want'"
}
listed "e0000002" --child TD-2015-014
listed "e0000002 e0000004" --kind oza
listed "e0000002" --org 98000001
listed "e0000001 e0000002 e0000004 e0000005" --org PO9901
listed "e0000001 e0000002 e0000003 e0000004 e0000005" --org 5e5c8ca5
listed "e0000002" --kind oza --org 98000001 --status started
listed "" --org 98000001 --status requested
listed "e0000001" --active-on 2025-09-15
listed "e0000005" --active-on 2025-07-15
listed "e0000001 e0000002" --active-on 2025-10-01
listed "" --active-on 2024-08-31
listed "e0000005" --ending-before 2025-07-16
listed "" --ending-before 2025-07-15
listed "e0000001 e0000002" --active-on 2025-10-01 --org PO9901 --status started
# the date filters against an oracle: jq over every row
ok "$CTL" --json arrangement list
cp "$T/out" "$T/all.jsonl"
for d in 2024-09-01 2025-01-01 2025-07-15 2025-07-16 2025-09-01 2025-10-14 2025-10-15 2030-01-01; do
	want=$(jq -r --arg d "$d" 'select(.start_on != null and .start_on <= $d and (.end_on == null or .end_on >= $d)) | .id[0:8]' "$T/all.jsonl" | tr '\n' ' ' | sed 's/ $//')
	listed "$want" --active-on "$d"
	want=$(jq -r --arg d "$d" 'select(.end_on != null and .end_on < $d) | .id[0:8]' "$T/all.jsonl" | tr '\n' ' ' | sed 's/ $//')
	listed "$want" --ending-before "$d"
done
# a cut list of a client-side filter: where to go on, and nothing said when none is left
expect 0 "$CTL" arrangement list --org PO9901 --limit 1
[ "$(tail -n +2 "$T/out" | cut -c1-8)" = e0000001 ] || fail "list --org --limit 1: $(cat "$T/out")"
[ "$(cat "$T/err")" = "showing the first 1 that match; use --all or --after e0000001-0000-4000-8000-000000000001" ] ||
	fail "list --org --limit 1: stderr '$(cat "$T/err")'"
expect 0 "$CTL" arrangement list --org PO9901 --limit 2 --after e0000001-0000-4000-8000-000000000001
[ "$(tail -n +2 "$T/out" | cut -c1-8 | tr '\n' ' ')" = "e0000002 e0000004 " ] || fail "list --org --after: $(cat "$T/out")"
[ "$(cat "$T/err")" = "showing the first 2 that match; use --all or --after e0000004-0000-4000-8000-000000000004" ] ||
	fail "list --org --after: stderr '$(cat "$T/err")'"
ok "$CTL" arrangement list --org PO9901 --limit 4
[ "$(wc -l <"$T/out")" = 5 ] || fail "list --org --limit 4: $(cat "$T/out")"
ok "$CTL" arrangement list --org 98000001 --active-on 2025-10-01
golden arrangement_list_org
usage "$CTL" arrangement list --active-on 2025-02-30
[ "$(head -1 "$T/err")" = "error: bad --active-on '2025-02-30' (expected a date YYYY-MM-DD)" ] ||
	fail "list --active-on message: $(head -1 "$T/err")"
usage "$CTL" arrangement list --ending-before 1-1-2025
usage "$CTL" arrangement list --kind nope
error 1 "" "$CTL" arrangement list --org NOSUCHORG
error 1 "" "$CTL" arrangement list --child TD-0000-000
ok "$CTL" arrangement show e0000002
golden arrangement_show
ok "$CTL" --json arrangement show e0000002-0000-4000-8000-000000000002
jqcheck '.arrangement.kind == "oza" and (.parties | length) == 5 and (.funding | map(.amount_cents) | add) == 1100000 and .assignments[0].volume == 6 and .assignments[0].unit == "16" and .assignments[0].frequency == "2" and .evaluations[0].outcome == "continue" and .consents[0].age_band == "<12"'
ok "$CTL" funding list arrangement_id=e0000002
golden funding_list
ok "$CTL" assignment show d000
golden assignment_show
# iJw codes: the code stored, its meaning shown; codes outside the lists refused
ok "$CTL" assignment set JW-2025-0042 change_reason=04
ok "$CTL" assignment show JW-2025-0042
grep -q '^change_reason  *04 (reassessment: extended)$' "$T/out" || fail "assignment show: no meaning of change_reason"
grep -q '^unit  *16 (dagdeel (4 h))$' "$T/out" || fail "assignment show: no meaning of unit"
grep -q '^frequency  *2 (per week)$' "$T/out" || fail "assignment show: no meaning of frequency"
usage "$CTL" assignment set JW-2025-0042 unit=day_part
[ "$(head -1 "$T/err")" = "error: bad value for unit: 'day_part' (expected one of: 01, 04, 14, 16, 82, 83, 84)" ] ||
	fail "assignment set unit=day_part: $(head -1 "$T/err")"
usage "$CTL" assignment set JW-2025-0042 frequency=week
ok "$CTL" --json assignment show JW-2025-0042
jqcheck '.change_reason == "04" and .product_category == "45"'
error 1 'error: care_assignment.end_reason="99" must be an iJw JZ588 reason care ended (02, 20, 31-39)' \
	"$CTL" assignment set JW-2025-0042 end_reason=99
ok "$CTL" query "SELECT status, count(*) AS n FROM arrangement GROUP BY status ORDER BY status"
golden query
ok "$CTL" --json query SELECT kind, code FROM organisation ORDER BY code
SLURP=1 jqcheck 'length == 4 and .[0].code == "98000001" and .[0].kind == "provider"'

# ---- a new arrangement: registered at the SWV, changed by the gemeente ----
ok "$CTL" arrangement add --child-ref TD-2016-001 --kind oza --status requested \
	--school 99XX01 --municipality 9901 --swv PO9901 --lead a0000002 \
	--coordinator "M. de Vries" --requested-on 2025-11-20 --summary "Tweede arrangement"
# every arrangement holds its own child row (its scope's): a second one for a ref too
[ "$(wc -l <"$T/out")" = 2 ] && grep -q '^created child .* for ref TD-2016-001$' "$T/out" ||
	fail "add for an existing child ref did not create the arrangement's own child row"
NEW=$(head -1 "$T/out")
name_id NEWARR "$NEW"
ok "$CTL" arrangement add --child-ref TD-2019-099 --kind support_team
NEW2=$(head -1 "$T/out")
CHILD2=$(sed -n 2p "$T/out" | awk '{print $3}')
name_id NEWARR2 "$NEW2"
name_id NEWCHILD "$CHILD2"
golden arrangement_add_new_child
ok "$CTL" --json arrangement add --child-ref TD-2019-099 --kind other
jqcheck --arg c "$CHILD2" '.child_created == true and .child_id != $c and (.id | test("^[0-9a-f-]{36}$"))'
ok "$CTL" arrangement set "$NEW" status=under_review decided_on=2025-12-01
[ -s "$T/out" ] && fail "set printed something"
ok "$CTL" arrangement set "${NEW:0:6}" status=allocated start_on=2026-01-05
ok "$CTL" --json arrangement set "$NEW" status=started
jqcheck --arg id "$NEW" '.id == $id'
ok "$CTL" funding add --arrangement-id "$NEW" --funder-org-id 9901 --source jeugdwet \
	amount_cents=300000 period_from=2026-01-05
# a share's id is bound to its funder (version 8), so only that funder (or an admin) writes it
case "$(cat "$T/out")" in ????????-????-8???-[89ab]*) ;; *) fail "funding add: not a share id bound to its funder" ;; esac
name_id NEWFUND "$(cat "$T/out")"
ok "$CTL" party add arrangement_id="${NEW:0:8}" org_id=98000001 role=care
name_id NEWPARTY "$(cat "$T/out")"
ok "$CTL" arrangement set "$NEW" coordinator=
ok "$CTL" arrangement show "$NEW"
golden arrangement_show_new
ok "$CTL" arrangement history "$NEW"
golden arrangement_history
ok "$CTL" --json arrangement history "$NEW"
SLURP=1 jqcheck 'length >= 14 and all(.[]; .organisation == "Gemeente Testdorp" and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and (.origin | test("^[0-9a-f]{64}$"))) and (map(select(.column == "status")) | map(.value)) == ["requested","under_review","allocated","started"] and (map(select(.column == "coordinator")) | last | .value) == null'
ok "$CTL" arrangement list --status started
GOLDEN_SORT=1 golden arrangement_list_after

# ---- generic set / delete / history ----
ok "$CTL" organisation set a0000004 name="Jeugdhulp Voorbeeld B.V. (Oost)"
ok "$CTL" organisation history a0000004
golden organisation_history
# A history of many pages (api_page_bytes = 4096 above) is read to its end, and --limit
# says where to go on: --after that position gives the rest, each change once.
for i in $(seq 40); do
	"$CTL" organisation set a0000004 name="Jeugdhulp Voorbeeld B.V. (Oost) $i" || fail "set $i"
done
ok "$CTL" --json organisation history a0000004
SLURP=1 jqcheck 'length > 40 and (map(select(.column == "name")) | last | .value) == "Jeugdhulp Voorbeeld B.V. (Oost) 40"'
HALL=$(wc -l <"$T/out")
cp "$T/out" "$T/history_all"
[ "$(grep -c 'Voorbeeld B.V. (Oost) [0-9]' "$T/history_all")" = 40 ] || fail "history: not every change once"
expect 0 "$CTL" --json organisation history a0000004 --limit 7
[ "$(wc -l <"$T/out")" = 7 ] || fail "history --limit 7: $(wc -l <"$T/out") lines"
grep -Eq "^showing 7 of $HALL; use --all or --after [0-9]+\.[0-9a-f]{64}\.[0-9]+\.[0-9]+\$" "$T/err" ||
	fail "history --limit: stderr '$(cat "$T/err")'"
POS=$(sed 's/.* --after //' "$T/err")
cp "$T/out" "$T/history_head"
ok "$CTL" --json organisation history a0000004 --after "$POS"
cat "$T/history_head" "$T/out" | cmp -s - "$T/history_all" || fail "history --after: not the rest"
usage "$CTL" organisation history a0000004 --all --limit 2
error 1 "error: param 'after' must be a history position (the 'next' of a page) (ARR_EINVAL)" \
	"$CTL" organisation history a0000004 --after 12
usage "$CTL" quarantine list --after x
ok "$CTL" consent delete c5000001
ok "$CTL" consent list
golden consent_list_after_delete
error 1 "error: no consent c5000001" "$CTL" consent show c5000001
ok "$CTL" consent history c5000001-0000-4000-8000-000000000001
SLURP=0 golden consent_history_deleted

# JSON string escaping round trip through the daemon.
NASTY=$(printf 'A "quoted" \\ name\twith tab, é, \xf0\x9f\x98\x80 and / slash')
ok "$CTL" organisation add kind=school name="$NASTY" code=ESC1
ESC=$(cat "$T/out")
ok "$CTL" --json organisation show "$ESC"
jqcheck --arg n "$NASTY" '.name == $n'
ok "$CTL" organisation show "$ESC"
grep -q 'name  *A "quoted" \\ name\\twith tab' "$T/out" || fail "human output does not escape a tab"
ok "$CTL" organisation delete "$ESC"

# ---- export | import round-trips ----
ok "$CTL" export
cp "$T/out" "$T/export1.jsonl"
jq -e -c . "$T/export1.jsonl" >/dev/null || fail "export is not JSON lines"
grep -q '"_deleted"' "$T/export1.jsonl" && fail "export shows internal columns"
grep -q 'c5000001' "$T/export1.jsonl" && fail "export shows a deleted row"
[ "$(head -1 "$T/export1.jsonl" | jq -r .table)" = organisation ] || fail "export order"
ok "$CTL" import "$T/export1.jsonl"
ok "$CTL" export
cmp -s "$T/export1.jsonl" "$T/out" || fail "export | import | export changed the data"
ok "$CTL" export funding_share
[ "$(jq -r .table "$T/out" | sort -u)" = funding_share ] || fail "export TABLE"
ok "$CTL" --json import - <"$FIX/region.jsonl"
jqcheck '.rows == 24 and .writes == 1'

# ---- import: every line checked first; a bad file writes nothing ----
ok "$CTL" digest
BEFORE=$(cat "$T/out")
cat >"$T/bad.jsonl" <<'EOF'
{"table":"organisation","kind":"school","name":"Good line","code":"OK1"}

{"table":"organisation","kind":"school","colour":"red"}
{"table":"organisation","kind":"school","name":"x" "code":"y"}
{"table":"nope","name":"x"}
{"table":"funding_share","amount_cents":"12"}
{"table":"organisation","id":"A0000001-0000-4000-8000-000000000001","name":"x"}
{"table":"evaluation","held_on":"2025-02-30"}
{"table":"organisation","id":"a0000001-0000-4000-8000-000000000001","name":"dup 1"}
{"table":"organisation","id":"a0000001-0000-4000-8000-000000000001","name":"dup 2"}
{"table":"consent","purpose":true}
{"table":"organisation"}
EOF
expect 1 "$CTL" import "$T/bad.jsonl"
sed "s|$T/||" "$T/err" >"$T/out"
golden import_errors
ok "$CTL" digest
[ "$(cat "$T/out")" = "$BEFORE" ] || fail "a rejected import changed the replica"
ok "$CTL" organisation list code=OK1
[ "$(wc -l <"$T/out")" = 1 ] || fail "a rejected import wrote its valid lines"
error 1 "" "$CTL" import "$T/no-such-file.jsonl"

# ---- import and add: a value over ARR_VALUE_MAX, text that is not UTF-8 (exit 1 / 2) ----
LONG=$(head -c 65537 /dev/zero | tr '\0' x)
printf '{"table":"child","ref":"%s","initials":"A.B."}\n' "$LONG" >"$T/long.jsonl"
expect 1 "$CTL" import "$T/long.jsonl"
[ "$(head -1 "$T/err")" = "error: $T/long.jsonl:1: child.ref is longer than 65536 bytes" ] ||
	fail "import long value message: $(head -1 "$T/err")"
printf '{"table":"child","initials":"A.B.","ref":"TD-\377\376"}\n' >"$T/utf8.jsonl"
printf '{"ref":"TD-\303","table":"child"}\n' >>"$T/utf8.jsonl"
printf '{"table":"child","r\351f":"x"}\n' >>"$T/utf8.jsonl"
expect 1 "$CTL" import "$T/utf8.jsonl"
printf '%s\n' "error: $T/utf8.jsonl:1: child.ref is not valid UTF-8 text" \
	"error: $T/utf8.jsonl:2: child.ref is not valid UTF-8 text" \
	"error: $T/utf8.jsonl:3: a field name is not valid UTF-8 text" \
	"error: $T/utf8.jsonl: 3 invalid lines; nothing was written" >"$T/want"
cmp -s "$T/want" "$T/err" || { fail "import UTF-8 messages:"; diff "$T/want" "$T/err" >&2 || true; }
usage "$CTL" child add "ref=$LONG"
[ "$(head -1 "$T/err")" = "error: child.ref is longer than 65536 bytes" ] ||
	fail "add long value message: $(head -1 "$T/err")"
usage "$CTL" child add "ref=TD-$(printf '\377')" initials=A.B.
[ "$(head -1 "$T/err")" = "error: child.ref is not valid UTF-8 text" ] ||
	fail "add non-UTF-8 message: $(head -1 "$T/err")"
usage "$CTL" arrangement set e0000001 "coordinator=$(printf '\300\200')"
[ "$(head -1 "$T/err")" = "error: arrangement.coordinator is not valid UTF-8 text" ] ||
	fail "set non-UTF-8 message: $(head -1 "$T/err")"

# ---- refused status transitions (exit 1, one line, allowed list) ----
error 1 "error: arrangement.status cannot change from requested to started (allowed: under_review, withdrawn, rejected)" \
	"$CTL" arrangement set e0000004 status=started
error 1 "error: arrangement.status cannot change from ended to started (allowed: archived)" \
	"$CTL" arrangement set e0000005 status=started
error 1 "error: arrangement.status cannot change from started to draft (allowed: evaluating, suspended, ended)" \
	"$CTL" arrangement set e0000001 status=draft summary=x
ok "$CTL" arrangement show e0000001 --json
jqcheck '.arrangement.status == "started" and .arrangement.summary != "x"'
ok "$CTL" arrangement set e0000005 status=archived
error 1 "error: arrangement.status cannot change from archived to ended (allowed: none)" \
	"$CTL" arrangement set e0000005 status=ended

# ---- the domain rules of the store, on every write path (exit 1, table.column=VALUE rule) ----
# add
error 1 "error: organisation.code is required" "$CTL" organisation add kind=school name="No code"
error 1 "error: funding_share.amount_cents=-1 must not be negative" \
	"$CTL" funding add arrangement_id=e0000002 funder_org_id=9901 source=jeugdwet amount_cents=-1
error 1 "error: funding_share.amount_cents is required" \
	"$CTL" funding add arrangement_id=e0000002 funder_org_id=9901 source=jeugdwet
error 1 "error: care_assignment.volume=0 must be at least 1" \
	"$CTL" assignment add arrangement_id=e0000002 provider_org_id=98000001 product_category=45 \
	valid_from=2025-10-01 volume=0 unit=04 frequency=2
error 1 "error: care_assignment.provider_org_id=\"5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a\" must name an existing organisation of kind provider" \
	"$CTL" assignment add arrangement_id=e0000002 provider_org_id=9901 product_category=45 \
	valid_from=2025-10-01 volume=2 unit=04 frequency=2
error 1 "error: arrangement.school_org_id=\"5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a\" must name an existing organisation of kind school" \
	"$CTL" arrangement add --child-ref TD-2016-001 --kind oza --school 9901
# set
error 1 "error: arrangement.kind is required" "$CTL" arrangement set e0000001 kind=
error 1 "error: arrangement.end_on=\"2025-08-31\" must not be before start_on=\"2025-09-01\"" \
	"$CTL" arrangement set e0000001 end_on=2025-08-31
error 1 "error: care_assignment.valid_to=\"2025-01-01\" must not be before valid_from=\"2025-10-01\"" \
	"$CTL" assignment set JW-2025-0042 valid_to=2025-01-01
# import: the line of the refused row; nothing written
ok "$CTL" digest
BEFORE=$(cat "$T/out")
cat >"$T/rules.jsonl" <<'EOF2'
{"table":"organisation","kind":"school","name":"Rule school","code":"RULE1"}
{"table":"funding_share","arrangement_id":"e0000002-0000-4000-8000-000000000002","funder_org_id":"5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a","source":"jeugdwet","amount_cents":100,"period_from":"2026-01-01","period_to":"2025-01-01"}
EOF2
error 1 "error: $T/rules.jsonl:2: funding_share.period_to=\"2025-01-01\" must not be before period_from=\"2026-01-01\"" \
	"$CTL" import "$T/rules.jsonl"
cat >"$T/rules.jsonl" <<'EOF2'
{"table":"arrangement","id":"e0000004-0000-4000-8000-000000000004","status":"ended"}
EOF2
error 1 "error: $T/rules.jsonl:1: arrangement.status cannot change from requested to ended (allowed: under_review, withdrawn, rejected)" \
	"$CTL" import "$T/rules.jsonl"
ok "$CTL" digest
[ "$(cat "$T/out")" = "$BEFORE" ] || fail "a refused write changed the replica"

# ---- the plan (één kind, één plan): goals in order, each with its latest outcome ----
ok "$CTL" goal add arrangement_id=e0000002 description="Weer hele dagen naar school" \
	org_id=99XX01 target_on=2026-06-30 ordinal=2
GOAL_A=$(cat "$T/out")
name_id GOALA "$GOAL_A"
ok "$CTL" goal add --arrangement-id e0000002 --description "Rustig in de klas" --org-id 98000001 \
	ordinal=1
GOAL_B=$(cat "$T/out")
name_id GOALB "$GOAL_B"
ok "$CTL" --json goal add arrangement_id=e0000002 description="Zelf naar school fietsen" \
	org_id=9901
GOAL_C=$(jq -r .id "$T/out")
name_id GOALC "$GOAL_C"
ok "$CTL" --json goal show "$GOAL_C"
jqcheck '.ordinal == 3 and .status == "open" and .org_id == "5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a"'
ok "$CTL" goal_evaluation add evaluation_id=e5000001 goal_id="$GOAL_A" outcome=progress
ok "$CTL" goal_evaluation add evaluation_id=e5000001 goal_id="$GOAL_B" outcome=achieved \
	note="Gaat goed"
EV2=e5000002-0000-4000-8000-000000000002 # a fixed id: the evaluations are listed by id
echo '{"table":"evaluation","id":"'$EV2'","arrangement_id":"e0000002-0000-4000-8000-000000000002","held_on":"2026-03-01","outcome":"adjust"}' >"$T/eval2.jsonl"
ok "$CTL" import "$T/eval2.jsonl"
ok "$CTL" goal_evaluation add evaluation_id="$EV2" goal_id="$GOAL_A" outcome=achieved
ok "$CTL" goal set "$GOAL_A" status=achieved
ok "$CTL" arrangement show e0000002
golden arrangement_show_plan
ok "$CTL" --json arrangement show e0000002
jqcheck '(.goals | length) == 3 and (.goal_evaluations | length) == 3 and (.goals | map(.ordinal) | sort) == [1,2,3]'
ok "$CTL" --json goal list arrangement_id=e0000002
SLURP=1 jqcheck 'length == 3 and all(.[]; .arrangement_id == "e0000002-0000-4000-8000-000000000002")'
# the plan's rules: required fields, allowed values, a goal of the evaluation's arrangement
usage "$CTL" goal add description="Zonder arrangement" org_id=9901
error 1 "error: goal.ordinal=0 must be at least 1" \
	"$CTL" goal add arrangement_id=e0000002 description="Nul" org_id=9901 ordinal=0
error 1 "error: goal.org_id is required" "$CTL" goal add arrangement_id=e0000002 description="Wie?"
usage "$CTL" goal set "$GOAL_A" status=gehaald
ok "$CTL" goal add arrangement_id=e0000001 description="Ander plan" org_id=99XX01
GOAL_X=$(cat "$T/out")
error 1 "error: goal_evaluation.goal_id=\"$GOAL_X\" must name a goal of the arrangement of its evaluation_id" \
	"$CTL" goal_evaluation add evaluation_id=e5000001 goal_id="$GOAL_X" outcome=progress
ok "$CTL" goal delete "$GOAL_X"

# ---- this node's own organisation row has its derived id (version 8), others a random one ----
ok "$CTL" organisation add kind=gemeente name="Gemeente Testdorp" code=9901
[ "$(cat "$T/out")" = 5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a ] || fail "own organisation: not its derived id"
# ... and under no other id: a member organisation's name lives on its derived row only
printf '%s\n' '{"table":"organisation","id":"a0000009-0000-4000-8000-000000000009","kind":"gemeente","name":"Gemeente Testdorp","code":"X1"}' >"$T/claim.jsonl"
expect 1 "$CTL" import "$T/claim.jsonl"
grep -q 'rule organisation-name: .*5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a' "$T/err" ||
	fail "import of the own organisation under a random id: $(cat "$T/err")"
ok "$CTL" organisation add kind=school name="Other school" code=OTH1
case "$(cat "$T/out")" in ????????-????-4???-*) ;; *) fail "other organisation: not a random id" ;; esac

# ---- values that break a rule are shown flagged, not hidden ----
# A row keeps a reference to an organisation deleted since (a delete is never refused);
# rows from peers, which merge without the local rules, are flagged the same way
# (test_store_rules: test_rules_judge).
ok "$CTL" organisation add kind=school name="Flag school" code=FLAG1
FLAGORG=$(cat "$T/out")
ok "$CTL" arrangement set e0000004 school_org_id=FLAG1
ok "$CTL" organisation delete FLAG1
ok "$CTL" arrangement show e0000004
grep -q "^school_org_id  *$FLAGORG !$" "$T/out" || fail "show: no flag on a value that breaks a rule"
grep -qx "! arrangement.school_org_id=\"$FLAGORG\" must name an existing organisation of kind school" "$T/out" ||
	fail "show: no footnote naming the rule: $(grep '^!' "$T/out")"
ok "$CTL" --json arrangement show e0000004
jqcheck --arg o "$FLAGORG" '.arrangement.school_org_id == $o'
ok "$CTL" arrangement set e0000004 school_org_id=99XX01
ok "$CTL" arrangement show e0000004
grep -q '!' "$T/out" && fail "show: a flag after the value was put right"

# ---- search: child ref, organisation name or code, coordinator (the store's index) ----
ok "$CTL" search TD-2016-001 lijster
GOLDEN_SORT=1 golden search
ok "$CTL" --json search "de VRIES"
SLURP=1 jqcheck 'length >= 1 and all(.[]; .coordinator == "M. de Vries")'
ok "$CTL" --json search Voorbeeld
SLURP=1 jqcheck 'map(.id) | index("e0000002-0000-4000-8000-000000000002") != null'
ok "$CTL" organisation set 98000001 name="Jeugdhulp Anders B.V."
ok "$CTL" --json search Voorbeeld
[ -s "$T/out" ] && fail "search found an organisation's old name"
ok "$CTL" --json search Anders
SLURP=1 jqcheck 'map(.id) | index("e0000002-0000-4000-8000-000000000002") != null'
ok "$CTL" organisation set 98000001 name="Jeugdhulp Voorbeeld B.V."
expect 0 "$CTL" search zzzznothing
[ "$(cat "$T/err")" = "no arrangement matches 'zzzznothing'" ] || fail "search without a match: $(cat "$T/err")"
expect 0 "$CTL" search --limit 1 9901
[ "$(wc -l <"$T/out")" = 2 ] || fail "search --limit 1 printed $(wc -l <"$T/out") lines"
[ "$(cat "$T/err")" = "showing the best 1 matches; use --limit N for more" ] ||
	fail "search --limit 1: $(cat "$T/err")"
usage "$CTL" search
usage "$CTL" search --limit 0 x
error 1 "error: param 'text' has no letter or digit to search for (ARR_EINVAL)" "$CTL" search " - "

# ---- lookup by the keys people know; ambiguity ----
ok "$CTL" organisation show 9901
grep -q '^name  *Gemeente Testdorp$' "$T/out" || fail "organisation show CODE"
# TD-2016-001 has two arrangements now, so two child rows (one per scope)
error 1 "error: child ref 'TD-2016-001' is ambiguous; use the id" "$CTL" child show TD-2016-001
ok "$CTL" child show TD-2017-007
grep -q "^ref  *TD-2017-007$" "$T/out" || fail "child show REF"
ok "$CTL" assignment show JW-2025-0042
grep -q '^id  *d0000001-0000-4000-8000-000000000001$' "$T/out" || fail "assignment show NUMBER"
ok "$CTL" organisation set PO9901 name="SWV PO Testregio"
ok "$CTL" organisation history 99XX01
ok "$CTL" organisation add kind=school name="Dup one" code=DUP1
ok "$CTL" organisation add kind=school name="Dup two" code=DUP1
error 1 "error: organisation code 'DUP1' is ambiguous; use the id" "$CTL" organisation show DUP1
error 1 "error: organisation code 'DUP1' is ambiguous; use the id" \
	"$CTL" arrangement set e0000004 school_org_id=DUP1
error 1 "error: no child TD-NOPE" "$CTL" child show TD-NOPE

# ---- unknown ids (exit 1, one line) ----
error 1 "error: no arrangement 8f3c" "$CTL" arrangement show 8f3c
error 1 "error: no arrangement 8f3c0000-0000-4000-8000-000000000000" \
	"$CTL" arrangement show 8f3c0000-0000-4000-8000-000000000000
error 1 "error: no arrangement 8f3c" "$CTL" arrangement set 8f3c status=started
error 1 "error: no arrangement 8f3c0000-0000-4000-8000-000000000000" \
	"$CTL" arrangement history 8f3c0000-0000-4000-8000-000000000000
error 1 "error: no organisation ffff" "$CTL" organisation delete ffff
error 1 "error: no arrangement 8f3c0000-0000-4000-8000-000000000000" \
	"$CTL" funding add arrangement_id=8f3c0000-0000-4000-8000-000000000000 source=jeugdwet
error 1 "error: no organisation with id or code 'NOPE'" \
	"$CTL" arrangement add --child-ref TD-X --kind oza --school NOPE
error 1 "error: arrangement id e000 is ambiguous; type more of it" "$CTL" arrangement show e000
error 1 "error: no quarantined change set 999" "$CTL" quarantine retry 999
error 1 "error: statement is not read-only (ARR_EREADONLY)" "$CTL" query "DELETE FROM organisation"

# ---- usage errors (exit 2: error line, then "see 'arrangctl CMD --help'") ----
usage "$CTL"
usage "$CTL" frob
usage "$CTL" --frob status
usage "$CTL" --timeout x status
usage "$CTL" --timeout
usage "$CTL" status extra
usage "$CTL" arrangement
usage "$CTL" arrangement frob
usage "$CTL" arrangement add --kind oza
usage "$CTL" arrangement add --child-ref X
usage "$CTL" arrangement add --child-ref X --kind nope
usage "$CTL" arrangement add --child-ref X --kind oza --status started
usage "$CTL" arrangement add --child-ref X --kind oza --start-on 2025-02-30
usage "$CTL" arrangement add --child-ref X --kind oza --colour red
usage "$CTL" arrangement add --child-ref
usage "$CTL" arrangement set
usage "$CTL" arrangement set e0000001
usage "$CTL" arrangement set e0000001 colour=red
usage "$CTL" arrangement set e0000001 status
usage "$CTL" arrangement set e0000001 status=started status=ended
usage "$CTL" arrangement list --status nope
usage "$CTL" arrangement show
usage "$CTL" arrangement show a b
usage "$CTL" organisation
usage "$CTL" organisation add
usage "$CTL" organisation add kind=
usage "$CTL" organisation list --limit 0
usage "$CTL" funding add amount_cents=12.5
usage "$CTL" evaluation add held_on=2025-13-01
usage "$CTL" consent add age_band=18+
usage "$CTL" query
usage "$CTL" import
usage "$CTL" import a b
usage "$CTL" export nope
usage "$CTL" quarantine
usage "$CTL" quarantine frob
usage "$CTL" quarantine retry abc
usage "$CTL" quarantine list extra
usage "$CTL" --socket
usage "$CTL" backup
usage "$CTL" backup a b
usage "$CTL" metrics extra
# one positional word: named when missing, refused when there are two
for cmd in "member show:MEMBER" "scope show:ARRANGEMENT" "scope erase:ARRANGEMENT" \
	"arrangement history:ID" "import:FILE"; do
	# shellcheck disable=SC2086 # the command's words
	usage "$CTL" ${cmd%%:*}
	head -1 "$T/err" | grep -qx "error: missing ${cmd#*:}" || fail "'${cmd%%:*}' without ${cmd#*:}: $(head -1 "$T/err")"
	# shellcheck disable=SC2086
	usage "$CTL" ${cmd%%:*} a b
	head -1 "$T/err" | grep -qx 'error: too many arguments' || fail "'${cmd%%:*} a b': $(head -1 "$T/err")"
done
for cmd in "member list" "retention apply" "retention due" "metrics"; do
	# shellcheck disable=SC2086
	usage "$CTL" $cmd extra
	head -1 "$T/err" | grep -qx "error: unexpected argument 'extra'" || fail "'$cmd extra': $(head -1 "$T/err")"
done

# ---- a file beyond the 100000-values-per-write limit is split at line boundaries ----
seq 33400 | awk '{ printf "{\"table\":\"organisation\",\"kind\":\"school\",\"name\":\"School %d\",\"code\":\"B%06d\"}\n", $1, $1 }' >"$T/big.jsonl"
ok "$CTL" --timeout 300000 --json import "$T/big.jsonl"
jqcheck '.rows == 33400 and .values == 100200 and .writes == 2'
ok "$CTL" query "SELECT count(*) AS n FROM organisation WHERE code LIKE 'B%'"
[ "$(tail -1 "$T/out")" = 33400 ] || fail "split import did not write every row"
# ... whose writes but the last are held (PROTOCOL.md, "Held writes"): a refusal in the
# second write leaves the first (32,811 lines: the 8 MiB bound), committed before the
# message says it was written
seq 33399 | awk '{ printf "{\"table\":\"organisation\",\"kind\":\"school\",\"name\":\"Held %d\",\"code\":\"H%06d\"}\n", $1, $1 }' >"$T/held.jsonl"
echo '{"table":"funding_share","arrangement_id":"e0000002-0000-4000-8000-000000000002","funder_org_id":"5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a","source":"jeugdwet","amount_cents":100,"period_from":"2026-01-01","period_to":"2025-01-01"}' >>"$T/held.jsonl"
expect 1 "$CTL" --timeout 300000 import "$T/held.jsonl"
grep -qx "error: $T/held.jsonl: lines up to 32811 were written in 1 write; the rest was not" "$T/err" ||
	fail "held import refused in its second write: $(cat "$T/err")"
grep -q "^error: $T/held.jsonl:33400: funding_share.period_to" "$T/err" ||
	fail "held import: the refused line: $(cat "$T/err")"
ok "$CTL" query "SELECT count(*) AS n FROM organisation WHERE code LIKE 'H0%'"
[ "$(tail -1 "$T/out")" = 32811 ] || fail "held import: not exactly the first write's rows"

# ---- metrics: Prometheus text, every family, counters that move ----
METRIC_NAMES='arrangd_local_writes_total arrangd_log_changesets arrangd_pending_size
arrangd_quarantine_size arrangd_db_bytes arrangd_changesets_sent_total
arrangd_changesets_received_total arrangd_changesets_applied_total
arrangd_changesets_duplicate_total arrangd_changesets_quarantined_total
arrangd_peers_connected arrangd_peer_behind arrangd_peer_ahead arrangd_apply_seconds
arrangd_peer_unreachable_seconds arrangd_changesets_clock_rejected_total
arrangd_data_free_bytes arrangd_data_size_bytes arrangd_writes_held
arrangd_search_notes_overflow_total arrangd_access_notes_overflow_total arrangd_equivocations arrangd_quota_refused_total
arrangd_origin_over_quota_bytes arrangd_denied_changesets arrangd_denied_total
arrangd_schema_kept_changesets arrangd_schema_kept_bytes arrangd_schema_kept_overflow_total
arrangd_schema_version arrangd_peer_schema_version
arrangd_api_clients arrangd_api_clients_accepted_total arrangd_api_clients_refused_total arrangd_api_clients_evicted_total arrangd_api_accept_errors_total arrangd_api_requests_total arrangd_api_requests_gone_total
arrangd_api_rounds_deferred_total arrangd_api_recv_bytes arrangd_api_recv_refused_total arrangd_api_recv_oversize_total arrangd_api_timeouts_total arrangd_api_version_errors_total
arrangd_open_fds arrangd_fd_limit arrangd_peer_listener_paused_total
arrangd_pending_bytes arrangd_quarantine_bytes arrangd_pending_dropped_total
arrangd_quarantine_evicted_total arrangd_retention_acted_total
arrangd_peer_send_queued_bytes arrangd_peer_send_dropped_total arrangd_peer_pulls_refused_total
arrangd_peer_takeovers_total arrangd_peer_equiv_dropped_total arrangd_changesets_duplicate_unverified_total
arrangd_changesets_received_via_total arrangd_changesets_duplicate_via_total
arrangd_peer_prunes_sent_total arrangd_peer_sent_bytes_total arrangd_peer_heartbeat_bytes_total arrangd_peer_down_total arrangd_peers_dialled
arrangd_apply_queue_bytes arrangd_apply_queue_dropped_total arrangd_members arrangd_members_removed arrangd_member_changesets_total arrangd_peer_connections_refused_total arrangd_peer_members_dropped_total
arrangd_join_admitted_total arrangd_join_limited_total arrangd_join_ignored_total arrangd_join_accepted_total arrangd_join_refused_total
arrangd_lag_grace_milliseconds arrangd_lag_grace_samples_total
arrangd_apply_round_max_milliseconds arrangd_apply_slices_parked_total arrangd_apply_starved_milliseconds_total
arrangd_export_walks_total arrangd_export_walks_kept_total arrangd_export_walk_overflow_total
arrangd_digest_inline_total arrangd_seal_inline_total arrangd_seal_worker_total
arrangd_seal_full_total arrangd_held_commits_total arrangd_held_writes_total
arrangd_held_refused_total arrangd_held_lost_total arrangd_held_undo_over_total
arrangd_apply_checked_ahead_total arrangd_apply_checked_inline_total arrangd_apply_check_overflow_total'
# metric NAME: the value of the unlabelled sample NAME in the last output.
metric() { awk -v n="$1" '$1 == n { print $2 }' "$T/out"; }
ok "$CTL" metrics
cp "$T/out" "$T/metrics1.prom"
for name in $METRIC_NAMES; do
	grep -q "^# TYPE $name " "$T/out" || fail "metrics: no # TYPE line for $name"
done
# Every sample is NAME{LABELS} VALUE, and its family was declared.
if ! awk -v names="$METRIC_NAMES" '
	BEGIN { split(names, a); for (i in a) known[a[i]] = 1 }
	/^# (HELP|TYPE) / { next }
	!/^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9][0-9.e+]*$/ { print "bad line: " $0; bad = 1; next }
	{ n = $1; sub(/\{.*/, "", n); sub(/_(bucket|sum|count)$/, "", n)
	  if (!(n in known)) { print "unknown metric: " $0; bad = 1 } }
	END { exit bad }' "$T/out" >"$T/metrics.bad"; then
	fail "metrics text does not parse: $(head -3 "$T/metrics.bad")"
fi
[ "$(metric arrangd_peers_connected)" = 0 ] || fail "metrics: peers connected in a one-node region"
W1=$(metric arrangd_local_writes_total)
LOG1=$(metric arrangd_log_changesets)
[ "${W1:-0}" -ge 10 ] || fail "metrics: arrangd_local_writes_total '$W1' after the writes above"
ok "$CTL" organisation add kind=school name="Metrics School" code=M000001
ok "$CTL" organisation add kind=school name="Metrics School 2" code=M000002
ok "$CTL" metrics
[ "$(metric arrangd_local_writes_total)" = $((W1 + 2)) ] ||
	fail "metrics: two writes did not add 2 to arrangd_local_writes_total ($W1 -> $(metric arrangd_local_writes_total))"
[ "$(metric arrangd_log_changesets)" -ge $((LOG1 + 2)) ] || fail "metrics: log size did not grow"
ok "$CTL" --json metrics
jqcheck '.text | test("# TYPE arrangd_peers_connected gauge")'

# ---- backup: a consistent SQLite copy with the same rows; never overwrites ----
mkdir "$T/backup" "$T/cwd"
ok "$CTL" backup "$T/backup/one.db"
grep -Eq "^backup written to $T/backup/one.db \([0-9]+ bytes\)$" "$T/out" || fail "backup: output '$(cat "$T/out")'"
[ -f "$T/backup/one.db" ] || fail "backup: no file"
[ "$(stat -c %a "$T/backup/one.db")" = 600 ] || fail "backup: mode is not 0600"
[ "$(sqlite3 "$T/backup/one.db" "PRAGMA integrity_check")" = ok ] || fail "backup: integrity_check"
for tbl in organisation child arrangement; do
	ok "$CTL" query "SELECT count(*) AS n FROM $tbl"
	live=$(tail -1 "$T/out")
	[ "$(sqlite3 "$T/backup/one.db" "SELECT count(*) FROM $tbl")" = "$live" ] ||
		fail "backup: $tbl rows differ from the live node ($live)"
done
ok "$CTL" digest
BACKUP_DIGEST=$(cat "$T/out")
ok "$CTL" status --json
BACKUP_SEQ=$(jq .local_seq "$T/out")
error 1 "error: backup file exists; give a new file name (ARR_EEXIST)" "$CTL" backup "$T/backup/one.db"
[ "$(sqlite3 "$T/backup/one.db" "PRAGMA integrity_check")" = ok ] || fail "backup: refused backup touched the file"
error 1 "" "$CTL" backup "$T/no-such-dir/x.db"
grep -q "cannot create the backup file" "$T/err" || fail "backup into a missing directory: $(cat "$T/err")"
# A relative FILE is made absolute against arrangctl's working directory, not arrangd's.
(cd "$T/cwd" && ok "$CTL" --json backup ./rel.db)
jqcheck --arg p "$T/cwd/rel.db" '.path == $p and .bytes > 0'
[ -f "$T/cwd/rel.db" ] || fail "backup: relative FILE not written under the client's cwd"
ok "$CTL" metrics
[ "$(metric arrangd_local_writes_total)" = $((W1 + 2)) ] || fail "metrics: a backup counted as a write"

# restore_from FILE: stop arrangd, replace its replica with FILE, start it, wait for its API.
restore_from() {
	kill -TERM "$DPID"
	wait "$DPID" || fail "arrangd exited with status $? on SIGTERM"
	DPID=""
	cp "$1" "$T/data/arrangd.db"
	rm -f "$T/data/arrangd.db-wal" "$T/data/arrangd.db-shm"
	"$ARRANGD" --config "$T/node.conf" 2>>"$T/arrangd.log" &
	DPID=$!
	for _ in $(seq 100); do
		"$CTL" --timeout 500 status >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || { fail "arrangd exited after the restore"; cat "$T/arrangd.log" >&2; exit 1; }
		sleep 0.1
	done
}

# ---- restore: stop, replace the database, start; the backup's contents come back ----
ok "$CTL" status
grep -q '^writes  *accepted$' "$T/out" || fail "status: writes line before a restore"
ok "$CTL" --json status
jqcheck '.writes_held == null'
ok "$CTL" organisation add kind=school name="After Backup" code=M000003
restore_from "$T/backup/one.db"
ok "$CTL" digest
[ "$(cat "$T/out")" = "$BACKUP_DIGEST" ] || fail "restore: digest differs from the backup-time digest"
ok "$CTL" --json status
jqcheck --argjson s "$BACKUP_SEQ" '.local_seq == $s'
ok "$CTL" query "SELECT count(*) AS n FROM organisation WHERE code = 'M000003'"
[ "$(tail -1 "$T/out")" = 0 ] || fail "restore: a row written after the backup is present"
# Alone in its region, a restored node may write at once (nobody holds newer seqs of it).
ok "$CTL" --json organisation add kind=school name="After Restore" code=M000004
ok "$CTL" --json status
jqcheck --argjson s "$BACKUP_SEQ" '.local_seq == $s + 1'

# ---- a restore in a region with a member never heard from: writes held, and said so ----
# The other member has no endpoint (it listens on a wildcard address), so nothing connects.
sed -e "s/^name = .*/name = cli-other/" -e "s/^organisation = .*/organisation = Zorg Anders/" \
	-e "s#^data_dir = .*#data_dir = $T/other#" -e "s#^api = .*#api = $T/other.sock#" \
	-e "s#^listen = .*#listen = tcp://0.0.0.0:$(free_port)#" "$T/node.conf" >"$T/other.conf"
"$ARRANGD" --init --config "$T/other.conf" >>"$T/members.conf"
ok "$CTL" backup "$T/backup/two.db"
restore_from "$T/backup/two.db"
ok "$CTL" status
grep -q '^writes  *held until a peer has answered a pull (replica restored from a backup)$' "$T/out" ||
	fail "status: no writes-held line after a restore: $(grep '^writes' "$T/out")"
grep -q '^peers  *0 of 1 connected$' "$T/out" || fail "status: peers line with a member never heard from"
ok "$CTL" --json status
jqcheck '.writes_held.reason == "restored" and .writes_held.until_seq == 0'
ok "$CTL" peers
golden peers_never_connected
error 1 "error: writes held until a peer has answered a pull (replica restored from a backup) (ARR_ESTATE)" \
	"$CTL" organisation add kind=school name="Held" code=M000005

# ---- unreachable daemon (exit 3, one line saying which socket and why) ----
error 3 "error: cannot reach arrangd at $T/nope.sock: no such socket (is arrangd running?)" "$CTL" --socket "$T/nope.sock" status
ARRANGD_SOCKET="$T/nope.sock" error 3 "error: cannot reach arrangd at $T/nope.sock: no such socket (is arrangd running?)" "$CTL" arrangement list
# The access log: the reads above were recorded (ids and field names), the chain verifies.
ok "$CTL" --json access-log
[ "$(jq -r 'select(.action == "get" and .table == "arrangement") | .user' "$T/out" | head -1)" = "$(id -un)" ] ||
	fail "access-log: no get of an arrangement by $(id -un)"
jq -r 'select(.fields != null and (.fields | test("summary"))) | .seq' "$T/out" | grep -q . ||
	fail "access-log: no entry names the field summary"
ok "$CTL" access-log verify
grep -q '^access log intact: [0-9]* entries checked, head [0-9a-f]\{64\}$' "$T/out" ||
	fail "access-log verify: $(cat "$T/out")"
usage "$CTL" access-log --since yesterday
usage "$CTL" access-log check
# The subject-access export: only that child's rows, to a new file, mode 0600.
expect 0 "$CTL" export --child TD-2016-001 --out "$T/subject.json"
[ "$(jq -r '.format' "$T/subject.json")" = arrangd-export/1 ] || fail "export: format"
[ "$(jq '[.rows[] | select(.table == "child")] | length' "$T/subject.json")" -ge 1 ] &&
	[ "$(jq '[.rows[] | select(.table == "child" and .row.ref != "TD-2016-001")] | length' "$T/subject.json")" = 0 ] ||
	fail "export: child rows"
[ "$(jq '[.access_log[] | select(.action == "export")] | length' "$T/subject.json")" -ge 1 ] ||
	fail "export: not in its own access log"
[ "$(stat -c %a "$T/subject.json")" = 600 ] || fail "export: mode $(stat -c %a "$T/subject.json")"
error 1 "error: cannot create $T/subject.json: File exists" "$CTL" export --child TD-2016-001 --out "$T/subject.json"
error 1 "error: no child with that ref on this node (ARR_ENOTFOUND)" "$CTL" export --child NO-SUCH-REF
usage "$CTL" export --out "$T/x.json"
# Retention: due dates listed, nothing erased.
ok "$CTL" --json retention due --by 2100-01-01
jq -r 'select(.due == true and (.due_on | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))) | .due_on' "$T/out" | grep -q . ||
	fail "retention due: nothing due by 2100"
usage "$CTL" retention due extra

# A daemon that does not answer (stopped): the timeout, not a hang.
kill -STOP "$DPID"
error 3 "error: cannot reach arrangd at $SOCK: no reply within 500 ms" "$CTL" --timeout 500 digest
kill -CONT "$DPID"
# No permission on the socket: said at once, not after the timeout (root connects
# anyway, so as root the client runs as nobody).
START=$(date +%s)
if [ "$(id -u)" != 0 ]; then
	chmod 0 "$SOCK"
	error 3 "error: permission denied on $SOCK: add yourself to group arrangd" "$CTL" --timeout 60000 status
	chmod 0660 "$SOCK"
else
	chmod 0755 "$T"
	error 3 "error: permission denied on $SOCK: add yourself to group arrangd" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" --socket "$SOCK" --timeout 60000 status
	chmod 0700 "$T"
fi
[ $(($(date +%s) - START)) -lt 10 ] || fail "permission denied took $(($(date +%s) - START)) s"
kill -TERM "$DPID"
wait "$DPID" || fail "arrangd exited with status $? on SIGTERM"
DPID=""
error 3 "error: cannot reach arrangd at $SOCK: no such socket (is arrangd running?)" "$CTL" --timeout 500 digest
# A socket file nobody listens on (a daemon that was killed).
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0]) or die "$!"' "$SOCK"
error 3 "error: cannot reach arrangd at $SOCK: connection refused (no daemon is listening)" "$CTL" --timeout 500 arrangement show e0000001

if [ "$failures" -ne 0 ]; then
	echo "test_cli: $failures of $checks checks failed" >&2
	exit 1
fi
echo "test_cli: all $checks checks passed"
