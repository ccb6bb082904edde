#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sqlite (through python3's sqlite3) opens its database and journals with
# O_NOFOLLOW: it writes rows in a loop, in a rollback-journal and a WAL
# database, through 3 checkpoint/restart cycles; its rows go on from where
# they were and PRAGMA integrity_check says ok on both each time.
. "$(dirname "$0")/lib.sh"

py=$(python_bin)
[ -x "$py" ] || skip "no python3 interpreter"
"$py" -c 'import sqlite3' 2>/dev/null || skip "python3 has no sqlite3 module"
start_ckptd
name=$P-sqlite
run_ct "$name" "$py" -u "$REPO/tests/workloads/py-sqlite.py"
sleep 0.5
verify_ct "$name" py-sqlite
for c in 1 2 3; do
	a=$(last_log "$name" '^PASS' | awk '{ print $3 }')
	# no /proc snapshot: the rollback journal's fd comes and goes with
	# each transaction
	pid=$(ct_pid "$name")
	checkpoint_ct "$name"
	restart_ct "$name"
	[ "$(ct_pid "$name")" = "$pid" ] || fail "pid $pid became $(ct_pid "$name")"
	verify_ct "$name" py-sqlite
	b=$(last_log "$name" '^PASS' | awk '{ print $3 }')
	[ "$b" -ge "$a" ] || fail "rows went back from $a to $b"
	log "cycle $c ok: $(last_log "$name" '^PASS')"
done
a=$(last_log "$name" '^PASS' | awk '{ print $3 }')
sleep 1
verify_ct "$name" py-sqlite
b=$(last_log "$name" '^PASS' | awk '{ print $3 }')
[ "$b" -gt "$a" ] || fail "sqlite wrote no rows after restart ($a -> $b)"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
