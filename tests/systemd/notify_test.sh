#!/bin/sh
# notify_test.sh: runs tests/systemd/notify_test.py (a fake NOTIFY_SOCKET for one arrangd
# node: READY=1 only once the API answers, WATCHDOG=1 at least every WATCHDOG_USEC/2,
# STATUS=, SIGHUP with a broken config keeps the old one, SIGTERM exits 0).
# Usage: notify_test.sh ARRANGD ARRANGCTL
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
py=$(command -v python3 || true)
[ -n "$py" ] || py=/usr/bin/python3
exec "$py" "$dir/notify_test.py" "$@"
