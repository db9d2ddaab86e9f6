#!/bin/bash
# test_manpage.sh: docs/arrangctl.1 documents exactly the commands of arrangctl's command
# table: the "noun verb" lines of the hidden `arrangctl help --list` against the command
# headings (.TP, then the heading line) of the man page's COMMANDS section, where
# "\fInoun\fP" stands for every table noun. Fails on a command missing from either side.
#
# usage: test_manpage.sh ARRANGCTL MANPAGE
set -eu

CTL=$1
MAN=$2
T=$(mktemp -d /tmp/arrangctl-man.XXXXXX)
trap 'rm -rf "$T"' EXIT

"$CTL" help --list | LC_ALL=C sort >"$T/table"
[ -s "$T/table" ] || { echo "FAIL: 'arrangctl help --list' printed nothing" >&2; exit 1; }
# The second word of a heading is a verb only when the table knows it as one.
verbs=$(awk 'NF == 2 { print $2 }' "$T/table" | LC_ALL=C sort -u | tr '\n' ' ')

awk -v verbs="$verbs" '
	BEGIN { n = split(verbs, v, " "); for (i = 1; i <= n; i++) isverb[v[i]] = 1 }
	/^\.SH / { incmd = ($0 ~ /^\.SH COMMANDS/); next }
	!incmd { next }
	/^\.TP/ { head = 1; next }
	head {
		head = 0
		line = $0
		sub(/^\.[A-Z]+ */, "", line)         # .B, .BR, .BI
		gsub(/\\f[BIRP]/, "", line)          # font changes
		gsub(/\\-/, "-", line)
		gsub(/"/, "", line)
		split(line, w, " ")
		if (w[2] in isverb)
			print w[1] " " w[2]
		else
			print w[1]
	}' "$MAN" | LC_ALL=C sort >"$T/man"

if ! diff -u --label "arrangctl help --list" --label "$MAN (COMMANDS headings)" \
	"$T/table" "$T/man"; then
	echo "FAIL: the man page and the command table disagree (see the diff above)" >&2
	exit 1
fi
echo "test_manpage: $(wc -l <"$T/table") commands documented"
