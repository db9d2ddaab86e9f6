#!/bin/sh
# format_check.sh SRCDIR: every C file of the project is formatted as .clang-format says.
# Lists the files that are not, with the command that fixes them.
set -u
cd "$1" || exit 2
bad=""
for f in $(find protocol daemon client tests bench -name '*.[ch]' -not -path '*/corpus/*' | sort); do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
	echo "not formatted by .clang-format:$bad"
	echo "fix with: make format"
	exit 1
fi
echo "all C files formatted"
